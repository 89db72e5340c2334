package command

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/vigilmon/vigil/sdk/release"
)

// PluginKeygenCommand makes a publisher's signing key pair.
type PluginKeygenCommand struct{ Meta }

// Synopsis implements Command.
func (c *PluginKeygenCommand) Synopsis() string { return "Make a key pair for signing plugin releases" }

// Help implements Command.
func (c *PluginKeygenCommand) Help() string {
	return `Usage: vigil plugin keygen [--out FILE] [--force] [--format human|json]

  Makes an ed25519 key pair for signing plugin releases. The private key
  is written to FILE with mode 0600; keep it secret and out of version
  control. The public key ("ed25519:...") and its key id are printed:
  register the public key with the registry, and operators may list it in
  signing_keys of agent.hcl.

Options:
  --out FILE   where to write the private key (default vigil-signing.key)
  --force      replace FILE if it exists
  --format F   human or json`
}

// Run implements Command.
func (c *PluginKeygenCommand) Run(_ context.Context, args []string) int {
	flags := newFlags("plugin keygen", c.Stderr)
	out := flags.String("out", "vigil-signing.key", "private key file to write")
	force := flags.Bool("force", false, "replace an existing key file")
	f := flags.String("format", "human", "output format: human or json")
	if err := flags.Parse(args); err != nil {
		fmt.Fprintf(c.Stderr, "vigil plugin keygen: %v\n", err)
		return ExitUsage
	}
	if err := format(*f).Valid(); err != nil {
		fmt.Fprintf(c.Stderr, "vigil plugin keygen: %v\n", err)
		return ExitUsage
	}
	if flags.NArg() > 0 || *out == "" {
		fmt.Fprintln(c.Stderr, "vigil plugin keygen: takes no arguments; name the key file with --out")
		return ExitUsage
	}
	pub, priv, err := release.GenerateKey()
	if err != nil {
		fmt.Fprintf(c.Stderr, "vigil plugin keygen: %v\n", err)
		return ExitFailure
	}
	if err := release.WritePrivateKeyFile(*out, priv, *force); err != nil {
		if errors.Is(err, fs.ErrExist) {
			fmt.Fprintf(c.Stderr, "vigil plugin keygen: %s exists; use --force to replace it\n", *out)
		} else {
			fmt.Fprintf(c.Stderr, "vigil plugin keygen: %v\n", err)
		}
		return ExitFailure
	}
	if *f == "json" {
		b, _ := json.MarshalIndent(map[string]string{
			"public_key": pub.String(), "key_id": release.KeyID(pub), "private_key_file": *out,
		}, "", "  ")
		fmt.Fprintln(c.Stdout, string(b))
		return ExitOK
	}
	fmt.Fprintf(c.Stdout, "Wrote the private key to %s (mode 0600): keep it secret.\n", *out)
	fmt.Fprintf(c.Stdout, "Public key: %s\nKey ID:     %s\n", pub, release.KeyID(pub))
	return ExitOK
}
