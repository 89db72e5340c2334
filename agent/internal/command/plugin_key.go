package command

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/vigilmon/vigil/agent/internal/registryclient"
	"github.com/vigilmon/vigil/sdk/release"
)

// PluginKeyCommand is `plugin key add`: it registers a publisher's signing
// key with a registry. The command table dispatches on two words, so this
// command takes the verb ("add") as its first argument.
type PluginKeyCommand struct{ Meta }

// Synopsis implements Command.
func (c *PluginKeyCommand) Synopsis() string {
	return "Register a signing key with a registry (plugin key add)"
}

// Help implements Command.
func (c *PluginKeyCommand) Help() string {
	return `Usage: vigil plugin key add <publisher> (--public-key ed25519:... | --key FILE)
                            --registry URL --token T [--format human|json]

  Registers a public key with the registry as one that <publisher> signs
  releases with; publishing a release signed by a key that is not
  registered is refused. Give the public key that vigil plugin keygen
  printed, or the private key file it wrote (only its public half is
  sent). Prints the key id the registry assigned.

Options:
  --public-key K  the public key, "ed25519:<base64>"
  --key FILE      a private key file from vigil plugin keygen
  --registry URL  the registry's base URL (required)
  --token T       that publisher's (or the admin's) token (required)
  --format F      human or json`
}

// keyAddArgs are the parsed arguments of plugin key add.
type keyAddArgs struct {
	registry, token, format string
	publisher               string
	key                     release.PublicKey
}

// parseKeyAddArgs parses and checks the arguments after "add".
func parseKeyAddArgs(args []string, stderr io.Writer) (keyAddArgs, error) {
	fs := newFlags("plugin key add", stderr)
	fs.Usage = func() {} // Run prints the help for --help
	var a keyAddArgs
	var public, file string
	fs.StringVar(&public, "public-key", "", `public key, "ed25519:<base64>"`)
	fs.StringVar(&file, "key", "", "private key file from plugin keygen")
	fs.StringVar(&a.registry, "registry", "", "registry URL")
	fs.StringVar(&a.token, "token", "", "publisher token")
	fs.StringVar(&a.format, "format", "human", "output format: human or json")
	if err := fs.Parse(args); err != nil {
		return a, err
	}
	if err := format(a.format).Valid(); err != nil {
		return a, err
	}
	if fs.NArg() != 1 {
		return a, errors.New("give exactly one publisher name")
	}
	a.publisher = fs.Arg(0)
	switch {
	case (public == "") == (file == ""):
		return a, errors.New("give the key with exactly one of --public-key or --key")
	case public != "":
		k, err := release.ParsePublicKey(public)
		if err != nil {
			return a, fmt.Errorf("--public-key: %w", err)
		}
		a.key = k
	default:
		k, err := release.ReadPrivateKeyFile(file)
		if err != nil {
			return a, fmt.Errorf("--key: %w", err)
		}
		a.key = k.Public()
	}
	if a.registry == "" {
		return a, errors.New("--registry is required")
	}
	if a.token == "" {
		return a, errors.New("--token is required (the publisher's token from the registry's admin)")
	}
	return a, nil
}

// Run implements Command.
func (c *PluginKeyCommand) Run(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] != "add" {
		fmt.Fprintf(c.Stderr, "vigil plugin key: want the subcommand add\n\n%s\n", c.Help())
		return ExitUsage
	}
	a, err := parseKeyAddArgs(args[1:], c.Stderr)
	if errors.Is(err, pflag.ErrHelp) {
		fmt.Fprintln(c.Stdout, c.Help())
		return ExitOK
	}
	if err != nil {
		fmt.Fprintf(c.Stderr, "vigil plugin key add: %v\n", err)
		return ExitUsage
	}
	client, err := registryclient.New(a.registry, a.token, nil)
	if err != nil {
		fmt.Fprintf(c.Stderr, "vigil plugin key add: %v\n", err)
		return ExitUsage
	}
	key, err := client.AddSigningKey(ctx, a.publisher, a.key.String())
	if err != nil {
		fmt.Fprintf(c.Stderr, "vigil plugin key add: %v\n", err)
		return ExitFailure
	}
	if a.format == "json" {
		b, _ := json.MarshalIndent(key, "", "  ")
		fmt.Fprintln(c.Stdout, string(b))
		return ExitOK
	}
	fmt.Fprintf(c.Stdout, "Registered signing key %s for publisher %s.\n", key.KeyID, a.publisher)
	fmt.Fprintf(c.Stdout, "Releases signed with it may now be published:\n")
	fmt.Fprintf(c.Stdout, "  vigil plugin publish <dist> --registry %s --plugin-key <key> --key <signing key> --wait\n", a.registry)
	return ExitOK
}
