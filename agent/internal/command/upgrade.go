package command

import (
	"context"
	"fmt"

	"github.com/vigilmon/vigil/agent/internal/agent"
	"github.com/vigilmon/vigil/agent/internal/install"
	"github.com/vigilmon/vigil/hcl/lockfile"
)

// UpgradeCommand upgrades plugins within their recorded constraints.
type UpgradeCommand struct{ Meta }

// Synopsis implements Command.
func (c *UpgradeCommand) Synopsis() string {
	return "Upgrade registry plugins within their constraints"
}

// Help implements Command.
func (c *UpgradeCommand) Help() string {
	return `Usage: vigil upgrade [<plugin>] [options]

  Moves each plugin installed from a registry (or only <plugin>) to the
  newest version within the constraint vigil.lock.hcl recorded, as
  vigil install --upgrade does, and updates agent.hcl. Plugins installed
  with --from-file are left alone.

Options:
  --config FILE    agent configuration (default /etc/vigil/agent.hcl)
  --registry URL   registry (default: the registry block's url)
  --token T        agent token (default: the registry block's token)
  --format F       human or json`
}

// Run implements Command.
func (c *UpgradeCommand) Run(ctx context.Context, args []string) int {
	var a registryArgs
	fs := a.flags("upgrade", c.Stderr)
	if err := fs.Parse(args); err != nil {
		return ExitUsage
	}
	if err := format(a.format).Valid(); err != nil {
		fmt.Fprintf(c.Stderr, "vigil upgrade: %v\n", err)
		return ExitUsage
	}
	if fs.NArg() > 1 {
		fmt.Fprintln(c.Stderr, "vigil upgrade: give at most one plugin name")
		return ExitUsage
	}
	s, code := openSession(c.Meta, "upgrade", a)
	if s == nil {
		return code
	}
	lock, diags := lockfile.Load(agent.LockPath(a.config))
	if diags.HasErrors() {
		fmt.Fprintf(c.Stderr, "vigil upgrade: reading lock file: %s\n", diags.Error())
		return ExitFailure
	}
	var reqs []install.Request
	for _, name := range lock.Names() {
		e, _ := lock.Plugin(name)
		if fs.NArg() == 1 && name != fs.Arg(0) {
			continue
		}
		if e.Source == lockfile.SourceLocal {
			if fs.NArg() == 1 {
				fmt.Fprintf(c.Stderr, "vigil upgrade: %s was installed from a local file; install the new binary with vigil install --from-file\n", name)
				return ExitUsage
			}
			continue
		}
		reqs = append(reqs, s.request(name, "", true))
	}
	if len(reqs) == 0 {
		if fs.NArg() == 1 {
			fmt.Fprintf(c.Stderr, "vigil upgrade: %s is not installed; install it with vigil install %s\n", fs.Arg(0), fs.Arg(0))
			return ExitUsage
		}
		fmt.Fprintln(c.Stdout, "No plugins installed from a registry; nothing to upgrade.")
		return ExitOK
	}
	return s.install(ctx, reqs)
}
