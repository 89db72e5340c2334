package command

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/vigilmon/vigil/hcl/agentconfig"
	"github.com/vigilmon/vigil/hcl/edit"
)

// ConfigGetCommand prints one value of agent.hcl.
type ConfigGetCommand struct{ Meta }

// Synopsis implements Command.
func (c *ConfigGetCommand) Synopsis() string { return "Print a value of the agent configuration" }

// Help implements Command.
func (c *ConfigGetCommand) Help() string {
	return `Usage: vigil config get PATH [--config FILE] [--format human|json]

  Prints the value at PATH as written in the file (human) or as JSON.
  PATH names blocks by type and label, then an attribute and keys inside
  an object: agent.interval, agent.tags.site, plugin.system.config.mounts,
  plugin.process.promise.agent-running.config.min, output.file.path.
  A label with dots is quoted: promise."db.main".timeout.

Options:
  --config FILE   agent configuration (default /etc/vigil/agent.hcl)
  --format F      human or json

  Exit status: 0 printed, 1 not set or unreadable, 2 bad arguments.`
}

// Run implements Command.
func (c *ConfigGetCommand) Run(_ context.Context, args []string) int {
	a, err := parseConfigEditArgs("config get", c.Stderr, args, 1, false)
	if err != nil {
		fmt.Fprintf(c.Stderr, "vigil config get: %v\n", err)
		return ExitUsage
	}
	src, err := os.ReadFile(a.file)
	if err != nil {
		fmt.Fprintf(c.Stderr, "vigil config get: %v\n", err)
		return ExitFailure
	}
	doc, diags := edit.Parse(src, a.file)
	if diags.HasErrors() {
		cfg, _ := agentconfig.Parse(src, a.file)
		agentconfig.WriteDiagnostics(c.Stderr, cfg.Files, diags, false)
		return ExitFailure
	}
	v, err := doc.Get(a.path)
	switch {
	case errors.Is(err, edit.ErrNotSet):
		fmt.Fprintf(c.Stderr, "vigil config get: %s is not set in %s\n", a.path, a.file)
		return ExitFailure
	case err != nil:
		fmt.Fprintf(c.Stderr, "vigil config get: %v\n", err)
		return ExitUsage
	}
	if a.format == "json" {
		out := struct {
			Path   string          `json:"path"`
			Source string          `json:"source"`
			Value  json.RawMessage `json:"value,omitempty"`
		}{a.path, v.Source, v.JSON}
		b, _ := json.MarshalIndent(out, "", "  ")
		fmt.Fprintln(c.Stdout, string(b))
		return ExitOK
	}
	fmt.Fprintln(c.Stdout, v.Source)
	return ExitOK
}
