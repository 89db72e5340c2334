package command

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/vigilmon/vigil/hcl/agentconfig"
	"github.com/vigilmon/vigil/hcl/edit"
)

// ConfigSetCommand sets one value of agent.hcl in place.
type ConfigSetCommand struct{ Meta }

// Synopsis implements Command.
func (c *ConfigSetCommand) Synopsis() string {
	return "Set a value in the agent configuration, keeping comments"
}

// Help implements Command.
func (c *ConfigSetCommand) Help() string {
	return `Usage: vigil config set PATH VALUE [--config FILE] [--format human|json] [--dry-run]

  Sets PATH (see vigil config get --help) to VALUE, creating missing blocks
  and keys, prints the change as a unified diff and writes the file
  atomically. Only that spot of the file changes: comments and layout stay.
  VALUE takes the type the attribute has: durations and strings as is
  (30s, /var/lib/vigil), numbers, true or false, lists as [a, b] or JSON,
  objects as JSON (write -- before a VALUE that starts with "-").
  Inside a plugin's config, true/false, numbers and JSON
  arrays or objects keep their type; anything else is a string.
  The result must be a valid configuration, or nothing is written.

Options:
  --config FILE   agent configuration (default /etc/vigil/agent.hcl)
  --format F      human or json
  --dry-run       print the diff only

  Exit status: 0 done, 1 the result would be invalid or cannot be written,
  2 bad arguments.`
}

// Run implements Command.
func (c *ConfigSetCommand) Run(_ context.Context, args []string) int {
	a, err := parseConfigEditArgs("config set", c.Stderr, args, 2, true)
	if err != nil {
		fmt.Fprintf(c.Stderr, "vigil config set: %v\n", err)
		return ExitUsage
	}
	return runConfigEdit(c.Meta, "config set", a, func(d *edit.Document) error { return d.Set(a.path, a.value) })
}

// configEditArgs are the arguments of config get, set and unset.
type configEditArgs struct {
	path, value string
	file        string
	format      format
	dryRun      bool
}

// parseConfigEditArgs parses PATH [VALUE] (nargs of them) and the flags;
// writes adds --dry-run.
func parseConfigEditArgs(name string, stderr io.Writer, args []string, nargs int, writes bool) (configEditArgs, error) {
	var a configEditArgs
	fs := newFlags(name, stderr)
	fs.StringVar(&a.file, "config", "/etc/vigil/agent.hcl", "agent configuration file")
	f := fs.String("format", "human", "output format: human or json")
	if writes {
		fs.BoolVar(&a.dryRun, "dry-run", false, "print the diff without writing")
	}
	if err := fs.Parse(args); err != nil {
		return a, err
	}
	a.format = format(*f)
	if err := a.format.Valid(); err != nil {
		return a, err
	}
	if fs.NArg() != nargs {
		want := "PATH"
		if nargs == 2 {
			want = "PATH and VALUE"
		}
		return a, fmt.Errorf("expected %s, got %d arguments", want, fs.NArg())
	}
	a.path = fs.Arg(0)
	if nargs == 2 {
		a.value = fs.Arg(1)
	}
	return a, nil
}

// runConfigEdit reads the file (a missing one is empty), applies op,
// prints the diff and, unless --dry-run, saves the result.
func runConfigEdit(m Meta, name string, a configEditArgs, op func(*edit.Document) error) int {
	src, err := os.ReadFile(a.file)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(m.Stderr, "vigil %s: %v\n", name, err)
		return ExitFailure
	}
	doc, diags := edit.Parse(src, a.file)
	if diags.HasErrors() {
		cfg, _ := agentconfig.Parse(src, a.file)
		agentconfig.WriteDiagnostics(m.Stderr, cfg.Files, diags, false)
		return ExitFailure
	}
	err = op(doc)
	var invalid *edit.InvalidResultError
	switch {
	case errors.Is(err, edit.ErrNotSet):
		// Unsetting what is not set leaves the file as wanted.
		if a.format == "json" {
			printEditJSON(m.Stdout, a, "", false)
		} else {
			fmt.Fprintf(m.Stdout, "%s is not set in %s; nothing to do.\n", a.path, a.file)
		}
		return ExitOK
	case errors.As(err, &invalid):
		fmt.Fprintf(m.Stderr, "vigil %s: refusing the change: the result would not be a valid configuration:\n", name)
		agentconfig.WriteDiagnostics(m.Stderr, invalid.Files, invalid.Diags, false)
		return ExitFailure
	case err != nil:
		fmt.Fprintf(m.Stderr, "vigil %s: %v\n", name, err)
		return ExitUsage
	}
	out := doc.Bytes()
	diff := edit.Diff("a/"+a.file, "b/"+a.file, src, out)
	written := false
	if diff != "" && !a.dryRun {
		if err := edit.Save(a.file, out); err != nil {
			fmt.Fprintf(m.Stderr, "vigil %s: %v\n", name, err)
			return ExitFailure
		}
		written = true
	}
	if a.format == "json" {
		printEditJSON(m.Stdout, a, diff, written)
		return ExitOK
	}
	switch {
	case diff == "":
		fmt.Fprintf(m.Stdout, "%s is unchanged.\n", a.file)
	case written:
		fmt.Fprint(m.Stdout, diff)
		fmt.Fprintf(m.Stdout, "Wrote %s.\n", a.file)
	default:
		fmt.Fprint(m.Stdout, diff)
	}
	return ExitOK
}

func printEditJSON(w io.Writer, a configEditArgs, diff string, written bool) {
	b, _ := json.MarshalIndent(struct {
		Path    string `json:"path"`
		Changed bool   `json:"changed"`
		Written bool   `json:"written"`
		Diff    string `json:"diff"`
	}{a.path, diff != "", written, diff}, "", "  ")
	fmt.Fprintln(w, string(b))
}
