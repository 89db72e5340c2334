package command

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/vigilmon/vigil/agent/internal/agent"
	"github.com/vigilmon/vigil/agent/internal/install"
	"github.com/vigilmon/vigil/hcl/agentconfig"
)

// InstallCommand installs plugins.
type InstallCommand struct{ Meta }

// Synopsis implements Command.
func (c *InstallCommand) Synopsis() string { return "Install plugins into the plugin directory" }

// Help implements Command.
func (c *InstallCommand) Help() string {
	return `Usage: vigil install --from-file BINARY [--from-file BINARY ...] [--config FILE] [--format human|json]

  Installs plugin binaries from local files: each is started once to read
  its name and version, copied to <plugin_dir>/<name>/<version>/, and its
  sha256 recorded in vigil.lock.hcl beside the configuration (source
  "local"). The agent then runs only that exact binary.

Options:
  --from-file BINARY   a plugin executable (repeatable)
  --config FILE        agent configuration (default /etc/vigil/agent.hcl)
  --format F           human or json`
}

// Run implements Command.
func (c *InstallCommand) Run(ctx context.Context, args []string) int {
	fs := newFlags("install", c.Stderr)
	files := fs.StringArray("from-file", nil, "plugin binary to install")
	cfgPath := fs.String("config", "/etc/vigil/agent.hcl", "agent configuration file")
	f := fs.String("format", "human", "output format")
	if err := fs.Parse(args); err != nil {
		return ExitUsage
	}
	if err := format(*f).valid(); err != nil {
		fmt.Fprintf(c.Stderr, "vigil install: %v\n", err)
		return ExitUsage
	}
	if len(*files) == 0 || fs.NArg() > 0 {
		fmt.Fprintln(c.Stderr, "vigil install: give plugin binaries with --from-file (installing from a registry is not available yet)")
		return ExitUsage
	}
	cfg, diags := agentconfig.Load(*cfgPath)
	if diags.HasErrors() {
		agentconfig.WriteDiagnostics(c.Stderr, cfg.Files, diags, false)
		return ExitUsage
	}
	log, _ := newLogger(c.Stderr, "warn", "text")
	done, err := install.LocalFiles(ctx, cfg.Agent.PluginDir, agent.LockPath(*cfgPath), *files, log)
	if *f == "json" {
		if done == nil {
			done = []install.Installed{} // [] rather than null
		}
		b, _ := json.MarshalIndent(map[string]any{"installed": done, "error": errString(err)}, "", "  ")
		fmt.Fprintln(c.Stdout, string(b))
	} else {
		for _, in := range done {
			fmt.Fprintf(c.Stdout, "Installed %s %s (%s) to %s\n", in.Name, in.Version, in.SHA256, in.Path)
		}
	}
	if err != nil {
		fmt.Fprintf(c.Stderr, "vigil install: %v\n", err)
		return ExitFailure
	}
	return ExitOK
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
