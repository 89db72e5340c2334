package command

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/vigilmon/vigil/agent/internal/scaffold"
	"github.com/vigilmon/vigil/sdk/release"
)

// PluginNewCommand scaffolds a third-party plugin module.
type PluginNewCommand struct{ Meta }

// Synopsis implements Command.
func (c *PluginNewCommand) Synopsis() string { return "Start a new plugin in its own Go module" }

// Help implements Command.
func (c *PluginNewCommand) Help() string {
	return `Usage: vigil plugin new <name> [--dir DIR] [--module PATH] [--sdk PATH] [--format human|json]

  Writes a new plugin module into DIR: go.mod, main.go calling sdk.Serve,
  a collector ("value"), a promise ("threshold"), tests through
  sdk/sdktest (in-process and as a built binary), README.md and
  example.hcl. It builds and passes its tests right away; replace the
  example methods with your own. DIR must not exist or be empty.

  The module requires github.com/vigilmon/vigil/sdk. Until the SDK is
  published, give --sdk with the sdk/ directory of a checkout of the Vigil
  repository: go.mod then gets a replace directive pointing there. Then
  run "go mod tidy" in DIR to fetch the other dependencies.

Options:
  --dir DIR      where to write the module (default ./vigil-plugin-<name>)
  --module PATH  the Go module path (default example.com/vigil-plugin-<name>)
  --sdk PATH     a local SDK module directory to replace the SDK with
  --format F     human or json`
}

// newArgs are the parsed arguments of plugin new.
type newArgs struct {
	dir, format string
	opts        scaffold.Options
}

// parseNewArgs parses and checks the arguments.
func parseNewArgs(args []string, stderr io.Writer) (newArgs, error) {
	fs := newFlags("plugin new", stderr)
	var a newArgs
	fs.StringVar(&a.dir, "dir", "", "directory to write")
	fs.StringVar(&a.opts.Module, "module", "", "Go module path")
	fs.StringVar(&a.opts.SDKPath, "sdk", "", "local SDK module directory")
	fs.StringVar(&a.format, "format", "human", "output format: human or json")
	if err := fs.Parse(args); err != nil {
		return a, err
	}
	if err := format(a.format).Valid(); err != nil {
		return a, err
	}
	if fs.NArg() != 1 {
		return a, errors.New("give exactly one plugin name")
	}
	a.opts.Name = fs.Arg(0)
	if err := release.ValidName(a.opts.Name); err != nil {
		return a, err
	}
	if a.dir == "" {
		a.dir = release.BinaryName(a.opts.Name)
	}
	if a.opts.Module == "" {
		a.opts.Module = scaffold.DefaultModule(a.opts.Name)
	}
	return a, nil
}

// newResult is what plugin new reports.
type newResult struct {
	Name   string   `json:"name"`
	Module string   `json:"module"`
	Dir    string   `json:"dir"`
	SDK    string   `json:"sdk_replace,omitempty"`
	Files  []string `json:"files"`
}

// Run implements Command.
func (c *PluginNewCommand) Run(_ context.Context, args []string) int {
	a, err := parseNewArgs(args, c.Stderr)
	if err != nil {
		fmt.Fprintf(c.Stderr, "vigil plugin new: %v\n", err)
		return ExitUsage
	}
	files, err := scaffold.Write(a.dir, a.opts)
	if err != nil {
		fmt.Fprintf(c.Stderr, "vigil plugin new: %v\n", err)
		if errors.Is(err, scaffold.ErrNotEmpty) {
			return ExitUsage
		}
		return ExitFailure
	}
	res := newResult{Name: a.opts.Name, Module: a.opts.Module, Dir: a.dir, Files: files}
	if a.opts.SDKPath != "" {
		res.SDK, _ = filepath.Abs(a.opts.SDKPath)
	}
	if a.format == "json" {
		b, _ := json.MarshalIndent(res, "", "  ")
		fmt.Fprintln(c.Stdout, string(b))
		return ExitOK
	}
	fmt.Fprintf(c.Stdout, "Wrote plugin %s (module %s) into %s:\n", res.Name, res.Module, res.Dir)
	for _, f := range files {
		fmt.Fprintf(c.Stdout, "  %s\n", f)
	}
	fmt.Fprintln(c.Stdout, "\nNext:")
	if res.SDK == "" {
		fmt.Fprintf(c.Stdout, "  The SDK is not published yet: in %s, run\n    go mod edit -replace %s=/path/to/vigil/sdk\n",
			res.Dir, scaffold.SDKModule)
	}
	fmt.Fprintf(c.Stdout, "  cd %s && go mod tidy && go test ./...\n", res.Dir)
	fmt.Fprintln(c.Stdout, "  README.md walks through packaging, registering and publishing it.")
	return ExitOK
}
