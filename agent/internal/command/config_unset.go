package command

import (
	"context"
	"fmt"

	"github.com/vigilmon/vigil/hcl/edit"
)

// ConfigUnsetCommand removes a value or block from agent.hcl in place.
type ConfigUnsetCommand struct{ Meta }

// Synopsis implements Command.
func (c *ConfigUnsetCommand) Synopsis() string {
	return "Remove a value or block from the agent configuration"
}

// Help implements Command.
func (c *ConfigUnsetCommand) Help() string {
	return `Usage: vigil config unset PATH [--config FILE] [--format human|json] [--dry-run]

  Removes the attribute, object key or block at PATH (see vigil config get
  --help) with the comment lines directly above it, prints the change as a
  unified diff and writes the file atomically. Unsetting what is not set
  changes nothing. The result must be a valid configuration, or nothing is
  written.

Options:
  --config FILE   agent configuration (default /etc/vigil/agent.hcl)
  --format F      human or json
  --dry-run       print the diff only

  Exit status: 0 done, 1 the result would be invalid or cannot be written,
  2 bad arguments.`
}

// Run implements Command.
func (c *ConfigUnsetCommand) Run(_ context.Context, args []string) int {
	a, err := parseConfigEditArgs("config unset", c.Stderr, args, 1, true)
	if err != nil {
		fmt.Fprintf(c.Stderr, "vigil config unset: %v\n", err)
		return ExitUsage
	}
	return runConfigEdit(c.Meta, "config unset", a, func(d *edit.Document) error { return d.Unset(a.path) })
}
