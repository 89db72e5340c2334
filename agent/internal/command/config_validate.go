package command

import (
	"context"
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/vigilmon/vigil/agent/internal/agent"
	"github.com/vigilmon/vigil/hcl/agentconfig"
)

// ConfigValidateCommand checks an agent.hcl.
type ConfigValidateCommand struct{ Meta }

// Synopsis implements Command.
func (c *ConfigValidateCommand) Synopsis() string { return "Check an agent configuration file" }

// Help implements Command.
func (c *ConfigValidateCommand) Help() string {
	return `Usage: vigil config validate FILE [--format human|json] [--plugins=false]

  Checks FILE and prints every problem with its file:line:column and a hint
  at the fix. With --plugins (the default) it also starts each configured
  plugin (verified against the lock file) and checks its configuration
  against the schema the plugin declares.

  Exit status: 0 valid, 1 invalid.`
}

type validateArgs struct {
	file    string
	format  format
	plugins bool
}

func parseValidateArgs(c *ConfigValidateCommand, args []string) (validateArgs, error) {
	var a validateArgs
	fs := newFlags("config validate", c.Stderr)
	f := fs.String("format", "human", "output format: human or json")
	fs.BoolVar(&a.plugins, "plugins", true, "also validate plugin configuration against the installed plugins")
	if err := fs.Parse(args); err != nil {
		return a, err
	}
	a.format = format(*f)
	if err := a.format.Valid(); err != nil {
		return a, err
	}
	if fs.NArg() != 1 {
		return a, fmt.Errorf("expected one FILE argument, got %d", fs.NArg())
	}
	a.file = fs.Arg(0)
	return a, nil
}

// Run implements Command.
func (c *ConfigValidateCommand) Run(ctx context.Context, args []string) int {
	a, err := parseValidateArgs(c, args)
	if err != nil {
		fmt.Fprintf(c.Stderr, "vigil config validate: %v\n", err)
		return ExitUsage
	}
	cfg, diags := agentconfig.Load(a.file)
	if !diags.HasErrors() && a.plugins {
		log, _ := newLogger(c.Stderr, "error", "text")
		diags = append(diags, agent.ValidatePlugins(ctx, cfg, log)...)
	}
	if a.format == "json" {
		b, err := agentconfig.DiagnosticsJSON(diags)
		if err != nil {
			fmt.Fprintf(c.Stderr, "vigil config validate: %v\n", err)
			return ExitFailure
		}
		fmt.Fprintln(c.Stdout, string(b))
	} else {
		agentconfig.WriteDiagnostics(c.Stdout, cfg.Files, diags, false)
		if !diags.HasErrors() {
			fmt.Fprintf(c.Stdout, "%s is valid%s.\n", a.file, warningsNote(diags))
		}
	}
	if diags.HasErrors() {
		return ExitFailure
	}
	return ExitOK
}

func warningsNote(d hcl.Diagnostics) string {
	n := len(d)
	switch n {
	case 0:
		return ""
	case 1:
		return " (1 warning)"
	}
	return fmt.Sprintf(" (%d warnings)", n)
}
