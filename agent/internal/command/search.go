package command

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/vigilmon/vigil/agent/internal/registryclient"
)

// SearchCommand searches the registry's plugins.
type SearchCommand struct{ Meta }

// Synopsis implements Command.
func (c *SearchCommand) Synopsis() string { return "Search the registry for plugins" }

// Help implements Command.
func (c *SearchCommand) Help() string {
	return `Usage: vigil search <text> [options]

  Lists the registry's plugins whose name or description contains <text>,
  with their newest installable version.

Options:
  --config FILE    agent configuration (default /etc/vigil/agent.hcl)
  --registry URL   registry (default: the registry block's url)
  --token T        agent token (default: the registry block's token)
  --format F       human or json`
}

// Run implements Command.
func (c *SearchCommand) Run(ctx context.Context, args []string) int {
	var a registryArgs
	fs := a.flags("search", c.Stderr)
	if err := fs.Parse(args); err != nil {
		return ExitUsage
	}
	if err := format(a.format).Valid(); err != nil {
		fmt.Fprintf(c.Stderr, "vigil search: %v\n", err)
		return ExitUsage
	}
	if fs.NArg() > 1 {
		fmt.Fprintln(c.Stderr, "vigil search: give one search text (quote it if it has spaces)")
		return ExitUsage
	}
	s, code := openSession(c.Meta, "search", a)
	if s == nil {
		return code
	}
	found, err := s.client.Search(ctx, fs.Arg(0))
	if err != nil {
		fmt.Fprintf(c.Stderr, "vigil search: %v\n", err)
		return ExitFailure
	}
	if a.format == "json" {
		if found == nil {
			found = []registryclient.PluginSummary{}
		}
		b, _ := json.MarshalIndent(map[string]any{"plugins": found}, "", "  ")
		fmt.Fprintln(c.Stdout, string(b))
		return ExitOK
	}
	if len(found) == 0 {
		fmt.Fprintf(c.Stdout, "No plugins match %q.\n", fs.Arg(0))
		return ExitOK
	}
	tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tLATEST\tOWNER\tDESCRIPTION")
	for _, p := range found {
		latest := p.Latest
		if latest == "" {
			latest = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Name, latest, p.Owner, p.Description)
	}
	tw.Flush()
	return ExitOK
}
