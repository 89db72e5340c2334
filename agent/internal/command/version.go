package command

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"

	"github.com/vigilmon/vigil/sdk"
)

// VersionCommand prints the agent's version.
type VersionCommand struct{ Meta }

// Synopsis implements Command.
func (c *VersionCommand) Synopsis() string { return "Print the version" }

// Help implements Command.
func (c *VersionCommand) Help() string {
	return `Usage: vigil version [--format human|json]

  Prints the agent's version, the plugin protocol versions it speaks and
  the platform it was built for.`
}

// Run implements Command.
func (c *VersionCommand) Run(_ context.Context, args []string) int {
	fs := newFlags("version", c.Stderr)
	f := fs.String("format", "human", "output format: human or json")
	if err := fs.Parse(args); err != nil {
		return ExitUsage
	}
	if err := format(*f).Valid(); err != nil {
		fmt.Fprintln(c.Stderr, err)
		return ExitUsage
	}
	v := struct {
		Version   string `json:"version"`
		Protocols []int  `json:"protocol_versions"`
		SDK       string `json:"sdk_version"`
		Go        string `json:"go"`
		Platform  string `json:"platform"`
	}{c.Version, []int{sdk.ProtocolVersion}, sdk.Version, runtime.Version(), runtime.GOOS + "/" + runtime.GOARCH}
	if *f == "json" {
		b, _ := json.MarshalIndent(v, "", "  ")
		fmt.Fprintln(c.Stdout, string(b))
		return ExitOK
	}
	fmt.Fprintf(c.Stdout, "vigil %s (plugin protocol %v, sdk %s, %s %s)\n", v.Version, v.Protocols, v.SDK, v.Go, v.Platform)
	return ExitOK
}
