package command

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/vigilmon/vigil/agent/internal/registryclient"
	"github.com/vigilmon/vigil/sdk/release"
)

// PluginRegisterCommand registers a plugin with a registry and prints its
// plugin key.
type PluginRegisterCommand struct{ Meta }

// Synopsis implements Command.
func (c *PluginRegisterCommand) Synopsis() string {
	return "Register a plugin with a registry and get its plugin key"
}

// Help implements Command.
func (c *PluginRegisterCommand) Help() string {
	return `Usage: vigil plugin register <name> --registry URL --token T [--description TEXT] [--source-url URL] [--format human|json]

  Registers plugin <name> with the registry as the publisher whose token
  is T, and prints the plugin key: it publishes releases of this plugin
  (vigil plugin publish --plugin-key) and nothing else. The registry shows
  it once: store it as a secret (a CI variable, a password manager).

Options:
  --registry URL      the registry's base URL (required)
  --token T           a publisher (or admin) token (required)
  --description TEXT  what the plugin does, shown in search results
  --source-url URL    where its source code lives
  --format F          human or json`
}

// registerArgs are the parsed arguments of plugin register.
type registerArgs struct {
	registry, token, format string
	plugin                  registryclient.NewPlugin
}

// parseRegisterArgs parses and checks the arguments.
func parseRegisterArgs(args []string, stderr io.Writer) (registerArgs, error) {
	fs := newFlags("plugin register", stderr)
	var a registerArgs
	fs.StringVar(&a.registry, "registry", "", "registry URL")
	fs.StringVar(&a.token, "token", "", "publisher token")
	fs.StringVar(&a.plugin.Description, "description", "", "what the plugin does")
	fs.StringVar(&a.plugin.SourceURL, "source-url", "", "where its source lives")
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
	a.plugin.Name = fs.Arg(0)
	if err := release.ValidName(a.plugin.Name); err != nil {
		return a, err
	}
	if a.registry == "" {
		return a, errors.New("--registry is required")
	}
	if a.token == "" {
		return a, errors.New("--token is required (a publisher token from the registry's admin)")
	}
	return a, nil
}

// Run implements Command.
func (c *PluginRegisterCommand) Run(ctx context.Context, args []string) int {
	a, err := parseRegisterArgs(args, c.Stderr)
	if err != nil {
		fmt.Fprintf(c.Stderr, "vigil plugin register: %v\n", err)
		return ExitUsage
	}
	client, err := registryclient.New(a.registry, a.token, nil)
	if err != nil {
		fmt.Fprintf(c.Stderr, "vigil plugin register: %v\n", err)
		return ExitUsage
	}
	reg, err := client.RegisterPlugin(ctx, a.plugin)
	if err != nil {
		if ctx.Err() != nil {
			err = errors.New("registration interrupted; the plugin may or may not be registered")
		}
		fmt.Fprintf(c.Stderr, "vigil plugin register: %v\n", err)
		return ExitFailure
	}
	if a.format == "json" {
		b, _ := json.MarshalIndent(reg, "", "  ")
		fmt.Fprintln(c.Stdout, string(b))
		return ExitOK
	}
	fmt.Fprintf(c.Stdout, "Registered plugin %s (owner %s).\n", reg.Plugin.Name, reg.Plugin.Owner)
	fmt.Fprintf(c.Stdout, "Plugin key: %s\n", reg.PluginKey)
	fmt.Fprintf(c.Stdout, "It is shown once: store it as a secret. It publishes releases of %s only:\n", reg.Plugin.Name)
	fmt.Fprintf(c.Stdout, "  vigil plugin publish <dist> --registry %s --plugin-key <key> --key <signing key> --wait\n", a.registry)
	return ExitOK
}
