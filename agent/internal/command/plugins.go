package command

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/vigilmon/vigil/agent/internal/agent"
	"github.com/vigilmon/vigil/hcl/agentconfig"
)

// PluginsCommand lists the discovered plugins.
type PluginsCommand struct{ Meta }

// Synopsis implements Command.
func (c *PluginsCommand) Synopsis() string { return "List installed plugins and their state" }

// Help implements Command.
func (c *PluginsCommand) Help() string {
	return `Usage: vigil plugins [--config FILE] [--format human|json]

  Lists the plugins in the plugin directory: version, sha256, whether the
  lock file vouches for the binary, whether agent.hcl uses it, and for
  verified binaries their protocol version and methods (read by starting
  them briefly). A binary whose hash differs from the lock file is never
  executed.`
}

// Run implements Command.
func (c *PluginsCommand) Run(ctx context.Context, args []string) int {
	fs := newFlags("plugins", c.Stderr)
	cfgPath := fs.String("config", "/etc/vigil/agent.hcl", "agent configuration file")
	f := fs.String("format", "human", "output format: human or json")
	if err := fs.Parse(args); err != nil {
		return ExitUsage
	}
	if err := format(*f).Valid(); err != nil {
		fmt.Fprintf(c.Stderr, "vigil plugins: %v\n", err)
		return ExitUsage
	}
	cfg, diags := agentconfig.Load(*cfgPath)
	if diags.HasErrors() {
		agentconfig.WriteDiagnostics(c.Stderr, cfg.Files, diags, false)
		return ExitUsage
	}
	log, _ := newLogger(c.Stderr, "error", "text")
	list, err := agent.Inventory(ctx, cfg, log)
	if err != nil {
		fmt.Fprintf(c.Stderr, "vigil plugins: %v\n", err)
		return ExitFailure
	}
	if *f == "json" {
		if list == nil {
			list = []agent.PluginStatus{} // [] rather than null
		}
		b, _ := json.MarshalIndent(map[string]any{"plugin_dir": cfg.Agent.PluginDir, "plugins": list}, "", "  ")
		fmt.Fprintln(c.Stdout, string(b))
		return ExitOK
	}
	if len(list) == 0 {
		fmt.Fprintf(c.Stdout, "No plugins in %s. Install one with `vigil install`.\n", cfg.Agent.PluginDir)
		return ExitOK
	}
	tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tPROTOCOL\tCONFIGURED\tSTATE\tMETHODS\tSHA256")
	for _, p := range list {
		proto := "-"
		if p.Protocol > 0 {
			proto = fmt.Sprint(p.Protocol)
		}
		var methods []string
		for _, m := range p.Collectors {
			methods = append(methods, m)
		}
		for _, m := range p.Promises {
			methods = append(methods, "promise:"+m)
		}
		ms := strings.Join(methods, ",")
		if ms == "" {
			ms = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%s\t%s\t%s\n", p.Name, p.Version, proto, p.Configured, p.State, ms, short(p.SHA256))
	}
	tw.Flush()
	sep := "\n"
	for _, p := range list {
		if p.Error != "" {
			fmt.Fprintf(c.Stdout, "%s%s %s: %s\n", sep, p.Name, p.Version, p.Error)
			sep = ""
		}
	}
	return ExitOK
}

func short(sum string) string {
	if len(sum) > 19 {
		return sum[:19] + "…"
	}
	return sum
}
