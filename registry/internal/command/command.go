package command

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/pflag"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1 // the command ran and something failed
	ExitUsage   = 2 // bad arguments or configuration
)

// Meta is what every command gets from main.
type Meta struct {
	Version string
	Stdout  io.Writer
	Stderr  io.Writer
	// Signals delivers SIGINT and SIGTERM to serve.
	Signals <-chan os.Signal
	// Getenv reads the environment (os.Getenv in main; a map in tests).
	Getenv func(string) string
}

// Command is one subcommand.
type Command interface {
	Synopsis() string
	Help() string // starts with "Usage:"
	Run(ctx context.Context, args []string) int
}

// Commands is the command table, the one place subcommands are registered.
func Commands(m Meta) map[string]Command {
	return map[string]Command{
		"serve":        &ServeCommand{Meta: m},
		"token create": &TokenCreateCommand{Meta: m},
		"releases":     &ReleasesCommand{Meta: m},
		"approve":      &ActionCommand{Meta: m, action: "approve"},
		"reject":       &ActionCommand{Meta: m, action: "reject"},
		"withdraw":     &ActionCommand{Meta: m, action: "withdraw"},
		"abandon":      &ActionCommand{Meta: m, action: "abandon"},
		"delete":       &DeleteCommand{Meta: m},
	}
}

// Main dispatches args (without the program name) to a command.
func Main(ctx context.Context, m Meta, args []string) int {
	if m.Getenv == nil {
		m.Getenv = func(string) string { return "" }
	}
	cmds := Commands(m)
	for n := min(len(args), 2); n > 0; n-- { // the longest name wins: "token create"
		if c, ok := cmds[strings.Join(args[:n], " ")]; ok {
			rest := args[n:]
			if len(rest) > 0 && (rest[0] == "-h" || rest[0] == "--help" || rest[0] == "help") {
				fmt.Fprintln(m.Stdout, c.Help())
				return ExitOK
			}
			return c.Run(ctx, rest)
		}
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(m.Stdout, usage(cmds))
		return ExitOK
	}
	fmt.Fprintf(m.Stderr, "vigil-registry: unknown command %q\n\n%s", strings.Join(args, " "), usage(cmds))
	return ExitUsage
}

func usage(cmds map[string]Command) string {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("Usage: vigil-registry <command> [arguments]\n\nCommands:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %-13s %s\n", n, cmds[n].Synopsis())
	}
	b.WriteString("\nRun `vigil-registry <command> --help` for a command's arguments.\n")
	return b.String()
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name string, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	return fs
}

// format is the --format flag.
type format string

func (f format) valid() error {
	if f != "human" && f != "json" {
		return fmt.Errorf("--format must be human or json, not %q", string(f))
	}
	return nil
}

func printJSON(w io.Writer, v any) {
	b, _ := json.MarshalIndent(v, "", "  ") // values here always encode
	fmt.Fprintln(w, string(b))
}
