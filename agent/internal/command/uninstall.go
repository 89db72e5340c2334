package command

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/vigilmon/vigil/agent/internal/agent"
	"github.com/vigilmon/vigil/agent/internal/install"
	"github.com/vigilmon/vigil/hcl/agentconfig"
	"github.com/vigilmon/vigil/hcl/edit"
)

// UninstallCommand removes a plugin.
type UninstallCommand struct{ Meta }

// Synopsis implements Command.
func (c *UninstallCommand) Synopsis() string { return "Remove a plugin, its lock entry and its block" }

// Help implements Command.
func (c *UninstallCommand) Help() string {
	return `Usage: vigil uninstall <plugin> [--config FILE] [--format human|json]

  Removes the plugin's files from the plugin directory, its entry from
  vigil.lock.hcl and its plugin block from agent.hcl (with the comment
  lines above it), printing the diff. A running agent is told to reload.

Options:
  --config FILE   agent configuration (default /etc/vigil/agent.hcl)
  --format F      human or json`
}

// Run implements Command.
func (c *UninstallCommand) Run(ctx context.Context, args []string) int {
	var a registryArgs
	fs := newFlags("uninstall", c.Stderr)
	fs.StringVar(&a.config, "config", "/etc/vigil/agent.hcl", "agent configuration file")
	fs.StringVar(&a.format, "format", "human", "output format")
	if err := fs.Parse(args); err != nil {
		return ExitUsage
	}
	if err := format(a.format).Valid(); err != nil {
		fmt.Fprintf(c.Stderr, "vigil uninstall: %v\n", err)
		return ExitUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(c.Stderr, "vigil uninstall: give one plugin name")
		return ExitUsage
	}
	name := fs.Arg(0)
	cfg, diags := agentconfig.Load(a.config)
	if diags.HasErrors() {
		agentconfig.WriteDiagnostics(c.Stderr, cfg.Files, diags, false)
		return ExitUsage
	}
	s := &session{Meta: c.Meta, name: "uninstall", args: a, cfg: cfg}
	found, err := install.Remove(cfg.Agent.PluginDir, agent.LockPath(a.config), name)
	if err != nil {
		fmt.Fprintf(c.Stderr, "vigil uninstall: %v\n", err)
		return ExitFailure
	}
	diff, err := s.editConfig(func(d *edit.Document) error {
		if err := d.Unset("plugin." + name); err != nil && !errors.Is(err, edit.ErrNotSet) {
			return err
		}
		return nil
	})
	if err != nil {
		return ExitFailure
	}
	reloaded := ""
	if found || diff != "" {
		reloaded = s.reload(ctx, nil)
	}
	if a.format == "json" {
		b, _ := json.MarshalIndent(map[string]any{"plugin": name, "was_locked": found, "diff": diff, "reload": reloaded}, "", "  ")
		fmt.Fprintln(c.Stdout, string(b))
		return ExitOK
	}
	switch {
	case !found && diff == "":
		fmt.Fprintf(c.Stdout, "%s is not installed; nothing to do.\n", name)
	default:
		fmt.Fprintf(c.Stdout, "Uninstalled %s.\n%s\n", name, reloaded)
	}
	return ExitOK
}
