package command

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"
	"github.com/vigilmon/vigil/internal/cli"
)

// Exit codes, the same for every command (see internal/cli).
const (
	ExitOK      = cli.ExitOK
	ExitFailure = cli.ExitFailure
	ExitUsage   = cli.ExitUsage
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
type Command = cli.Command

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
	return cli.Dispatch(ctx, "vigil-registry", Commands(m), m.Stdout, m.Stderr, args)
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name string, stderr io.Writer) *pflag.FlagSet { return cli.NewFlags(name, stderr) }

// format is the --format flag.
type format = cli.Format

func printJSON(w io.Writer, v any) {
	b, _ := json.MarshalIndent(v, "", "  ") // values here always encode
	fmt.Fprintln(w, string(b))
}
