// Package cli is the plumbing both command lines share, `vigil` and
// `vigil-registry`: the Command contract, dispatch on a command table
// (one or two words: "config validate", "token create"), usage, exit codes,
// and pflag sets that report errors instead of exiting. The commands
// themselves live with their programs (agent/internal/command,
// registry/internal/command); this package knows none of them.
package cli

import (
	"context"
	"fmt"
	"io"
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

// Command is one subcommand.
type Command interface {
	Synopsis() string
	Help() string // starts with "Usage:"
	Run(ctx context.Context, args []string) int
}

// Dispatch runs the command of table that args name. The longest name
// that prefixes args wins; "-h", "--help" or "help" after a name print its
// help; "help <command>" too; no command prints the usage of prog.
func Dispatch(ctx context.Context, prog string, table map[string]Command, stdout, stderr io.Writer, args []string) int {
	for n := min(len(args), 2); n > 0; n-- {
		if c, ok := table[strings.Join(args[:n], " ")]; ok {
			rest := args[n:]
			if len(rest) > 0 && (rest[0] == "-h" || rest[0] == "--help" || rest[0] == "help") {
				fmt.Fprintln(stdout, c.Help())
				return ExitOK
			}
			return c.Run(ctx, rest)
		}
	}
	if len(args) > 1 && args[0] == "help" {
		if c, ok := table[strings.Join(args[1:], " ")]; ok {
			fmt.Fprintln(stdout, c.Help())
			return ExitOK
		}
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, Usage(prog, table))
		return ExitOK
	}
	fmt.Fprintf(stderr, "%s: unknown command %q\n\n%s", prog, strings.Join(args, " "), Usage(prog, table))
	return ExitUsage
}

// Usage lists the commands of table with their synopses.
func Usage(prog string, table map[string]Command) string {
	names := make([]string, 0, len(table))
	width := 0
	for n := range table {
		names = append(names, n)
		width = max(width, len(n))
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: %s <command> [arguments]\n\nCommands:\n", prog)
	for _, n := range names {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, n, table[n].Synopsis())
	}
	fmt.Fprintf(&b, "\nRun `%s <command> --help` for a command's arguments.\n", prog)
	return b.String()
}

// NewFlags returns a flag set that reports errors instead of exiting,
// with flags listed in the order they were defined.
func NewFlags(name string, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	return fs
}

// Format is the value of a --format flag.
type Format string

// Valid reports whether f is human or json.
func (f Format) Valid() error {
	if f != "human" && f != "json" {
		return fmt.Errorf("--format must be human or json, not %q", string(f))
	}
	return nil
}
