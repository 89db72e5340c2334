package command

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vigilmon/vigil/agent/internal/registryclient"
	"github.com/vigilmon/vigil/sdk/release"
)

// PluginPublishCommand uploads a packaged release and follows its
// evaluation.
type PluginPublishCommand struct{ Meta }

// Synopsis implements Command.
func (c *PluginPublishCommand) Synopsis() string {
	return "Publish a packaged release and follow its evaluation"
}

// Help implements Command.
func (c *PluginPublishCommand) Help() string {
	return `Usage: vigil plugin publish <dist> --registry URL --plugin-key K (--key FILE | --public-key ed25519:...) [--wait] [--timeout 5m] [--format human|json]

  Uploads the release in <dist>, as "vigil plugin package" wrote it: every
  vigil-plugin-<name>_<version>_<os>_<arch>.tar.gz, SHA256SUMS and
  SHA256SUMS.sig. The plugin name and version come from the archive names
  and must agree. Before uploading, the signature is checked with the
  signing key and every archive against SHA256SUMS, so a mistake fails
  here rather than in the registry's evaluation.

  The registry then evaluates the release (unpacking, checksums,
  signature, handshake, manifest, every method). With --wait the command
  follows the evaluation and prints its report; it exits 1 if the
  evaluation failed. A release that passed waits for the registry's
  admin to approve it.

Options:
  --registry URL        the registry's base URL (required)
  --plugin-key K        the plugin key from "vigil plugin register" (required)
  --key FILE            the private signing key that signed the release, or
  --public-key PUB      its public key ("ed25519:..."); one is required
  --wait                follow the evaluation and print its report
  --timeout D           how long --wait waits (default 5m)
  --format F            human or json`
}

// publishArgs are the parsed arguments of plugin publish.
type publishArgs struct {
	dist, registry, pluginKey, key, publicKey, format string
	wait                                              bool
	timeout, poll                                     time.Duration
}

// parsePublishArgs parses and checks the arguments.
func parsePublishArgs(args []string, stderr io.Writer) (publishArgs, error) {
	fs := newFlags("plugin publish", stderr)
	var a publishArgs
	fs.StringVar(&a.registry, "registry", "", "registry URL")
	fs.StringVar(&a.pluginKey, "plugin-key", "", "the plugin key")
	fs.StringVar(&a.key, "key", "", "private signing key file")
	fs.StringVar(&a.publicKey, "public-key", "", "public signing key")
	fs.BoolVar(&a.wait, "wait", false, "follow the evaluation")
	fs.DurationVar(&a.timeout, "timeout", 5*time.Minute, "how long --wait waits")
	fs.DurationVar(&a.poll, "poll-interval", time.Second, "how often --wait asks")
	_ = fs.MarkHidden("poll-interval")
	fs.StringVar(&a.format, "format", "human", "output format: human or json")
	if err := fs.Parse(args); err != nil {
		return a, err
	}
	if err := format(a.format).Valid(); err != nil {
		return a, err
	}
	if fs.NArg() != 1 {
		return a, errors.New("give exactly one release directory")
	}
	a.dist = fs.Arg(0)
	switch {
	case a.registry == "":
		return a, errors.New("--registry is required")
	case a.pluginKey == "":
		return a, errors.New("--plugin-key is required (vigil plugin register prints it)")
	case (a.key == "") == (a.publicKey == ""):
		return a, errors.New("give one of --key or --public-key: the key that signed SHA256SUMS")
	case a.timeout <= 0 || a.poll <= 0:
		return a, errors.New("--timeout must be positive")
	}
	return a, nil
}

// publishResult is what plugin publish reports.
type publishResult struct {
	Plugin     string                 `json:"plugin"`
	Version    string                 `json:"version"`
	KeyID      string                 `json:"key_id"`
	Platforms  []string               `json:"platforms"`
	State      string                 `json:"state"`
	StatusURL  string                 `json:"status_url"`
	Evaluation *registryclient.Report `json:"evaluation"`
}

// Run implements Command.
func (c *PluginPublishCommand) Run(ctx context.Context, args []string) int {
	a, err := parsePublishArgs(args, c.Stderr)
	if err != nil {
		fmt.Fprintf(c.Stderr, "vigil plugin publish: %v\n", err)
		return ExitUsage
	}
	pub, err := a.publicSigningKey()
	if err != nil {
		fmt.Fprintf(c.Stderr, "vigil plugin publish: %v\n", err)
		return ExitUsage
	}
	client, err := registryclient.New(a.registry, a.pluginKey, nil)
	if err != nil {
		fmt.Fprintf(c.Stderr, "vigil plugin publish: %v\n", err)
		return ExitUsage
	}
	pubn, err := readDist(ctx, a.dist, pub)
	if err != nil {
		fmt.Fprintf(c.Stderr, "vigil plugin publish: %v\n", err)
		return ExitFailure
	}
	human := a.format == "human"
	res := publishResult{Plugin: pubn.Plugin, Version: pubn.Version, KeyID: pubn.KeyID, Platforms: platformsOf(pubn.Archives)}
	if human {
		fmt.Fprintf(c.Stdout, "Verified %s %s (%s), signed with key %s.\n",
			res.Plugin, res.Version, strings.Join(res.Platforms, ", "), res.KeyID)
	}
	done, err := client.Publish(ctx, pubn)
	if err != nil {
		if ctx.Err() != nil {
			err = errors.New("upload interrupted; publish again to retry")
		}
		fmt.Fprintf(c.Stderr, "vigil plugin publish: %v\n", err)
		return ExitFailure
	}
	res.State, res.StatusURL = done.State, done.StatusURL
	if human {
		fmt.Fprintf(c.Stdout, "Uploaded %s %s: %s.\n", res.Plugin, res.Version, res.State)
	}
	if !a.wait {
		return c.printPublished(a, res)
	}

	if human {
		fmt.Fprintf(c.Stdout, "Waiting for the evaluation (up to %s)...\n", a.timeout)
	}
	wctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	rel, err := waitEvaluated(wctx, client, res.Plugin, res.Version, a.poll, func(state string) {
		if human {
			fmt.Fprintf(c.Stdout, "  %s\n", state)
		}
	})
	if err != nil {
		switch {
		case ctx.Err() != nil:
			err = errors.New("stopped waiting: interrupted; the evaluation goes on at the registry")
		case wctx.Err() != nil:
			err = fmt.Errorf("the evaluation did not finish within %s; it goes on at the registry (%s)", a.timeout, res.StatusURL)
		}
		fmt.Fprintf(c.Stderr, "vigil plugin publish: %v\n", err)
		return ExitFailure
	}
	res.State, res.Evaluation = rel.State, rel.Evaluation
	if res.Evaluation == nil {
		rep, err := client.Evaluation(ctx, res.Plugin, res.Version)
		if err != nil && !registryclient.IsNotFound(err) {
			fmt.Fprintf(c.Stderr, "vigil plugin publish: %v\n", err)
			return ExitFailure
		}
		if err == nil {
			res.Evaluation = &rep
		}
	}
	return c.printPublished(a, res)
}

// publicSigningKey is the public key given by --key or --public-key.
func (a publishArgs) publicSigningKey() (release.PublicKey, error) {
	if a.publicKey != "" {
		pub, err := release.ParsePublicKey(a.publicKey)
		if err != nil {
			return nil, fmt.Errorf("--public-key: %w", err)
		}
		return pub, nil
	}
	priv, err := release.ReadPrivateKeyFile(a.key)
	if err != nil {
		return nil, err
	}
	return priv.Public(), nil
}

// readDist finds the release in dist and checks it with pub: one plugin
// and version across the archive names, the signature of SHA256SUMS, and
// every archive listed there with the right hash.
func readDist(ctx context.Context, dist string, pub release.PublicKey) (registryclient.Publication, error) {
	p := registryclient.Publication{
		KeyID:     release.KeyID(pub),
		Sums:      filepath.Join(dist, release.SumsFile),
		Signature: filepath.Join(dist, release.SignatureFile),
	}
	entries, err := os.ReadDir(dist)
	if err != nil {
		return p, fmt.Errorf("reading the release directory: %w", err)
	}
	var errs []error
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".tar.gz") {
			continue
		}
		name, version, _, err := release.ParseArchiveName(e.Name())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if p.Plugin == "" {
			p.Plugin, p.Version = name, version
		} else if name != p.Plugin || version != p.Version {
			errs = append(errs, fmt.Errorf("%s is %s %s, but %s is %s %s: publish one release at a time",
				e.Name(), name, version, filepath.Base(p.Archives[0]), p.Plugin, p.Version))
			continue
		}
		p.Archives = append(p.Archives, filepath.Join(dist, e.Name()))
	}
	if err := errors.Join(errs...); err != nil {
		return p, err
	}
	if len(p.Archives) == 0 {
		return p, fmt.Errorf("%s holds no release archive (vigil-plugin-<name>_<version>_<os>_<arch>.tar.gz); make them with vigil plugin package", dist)
	}
	sums, err := release.VerifyDir(ctx, pub, dist)
	if err != nil {
		if errors.Is(err, release.ErrSignature) {
			return p, fmt.Errorf("%w: was the release signed with another key?", err)
		}
		return p, err
	}
	for _, a := range p.Archives {
		if _, ok := sums.Lookup(filepath.Base(a)); !ok {
			errs = append(errs, fmt.Errorf("%s is %w; package the release again", filepath.Base(a), release.ErrNotListed))
		}
	}
	return p, errors.Join(errs...)
}

// platformsOf lists the platforms of archives, sorted.
func platformsOf(archives []string) []string {
	var out []string
	for _, a := range archives {
		if _, _, p, err := release.ParseArchiveName(filepath.Base(a)); err == nil {
			out = append(out, p.String())
		}
	}
	sort.Strings(out)
	return out
}

// evaluator is what waitEvaluated needs of the registry.
type evaluator interface {
	Release(ctx context.Context, name, version string) (registryclient.Release, error)
}

// waitEvaluated asks for the release's state every poll until it is
// neither pending nor evaluating, telling changed of each new state.
func waitEvaluated(ctx context.Context, r evaluator, name, version string, poll time.Duration, changed func(string)) (registryclient.Release, error) {
	last := ""
	for {
		rel, err := r.Release(ctx, name, version)
		if err != nil {
			return rel, err
		}
		if rel.State != last {
			changed(rel.State)
			last = rel.State
		}
		if rel.State != "pending" && rel.State != "evaluating" {
			return rel, nil
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return rel, ctx.Err()
		case <-t.C:
		}
	}
}

// printPublished writes the result and returns the exit code: failure
// when the evaluation (or the admin) turned the release down.
func (c *PluginPublishCommand) printPublished(a publishArgs, res publishResult) int {
	code := ExitOK
	if a.wait && res.State != "passed" && res.State != "approved" {
		code = ExitFailure
	}
	if a.format == "json" {
		b, _ := json.MarshalIndent(res, "", "  ")
		fmt.Fprintln(c.Stdout, string(b))
		return code
	}
	if !a.wait {
		fmt.Fprintf(c.Stdout, "The registry is evaluating it; its status: %s%s\n", strings.TrimSuffix(a.registry, "/"), res.StatusURL)
		return code
	}
	fmt.Fprintf(c.Stdout, "Evaluation of %s %s: %s\n", res.Plugin, res.Version, res.State)
	if res.Evaluation != nil {
		fmt.Fprintln(c.Stdout)
		writeReport(c.Stdout, *res.Evaluation)
	}
	switch res.State {
	case "passed":
		fmt.Fprintln(c.Stdout, "\nThe release now waits for the registry's admin to approve it.")
	case "approved":
	default:
		what := "is " + res.State
		if res.State == "failed" {
			what = "failed its evaluation"
		}
		fmt.Fprintf(c.Stderr, "vigil plugin publish: %s %s %s; fix what failed, then package and publish a new version\n",
			res.Plugin, res.Version, what)
	}
	return code
}

// writeReport writes an evaluation report as a table.
func writeReport(w io.Writer, r registryclient.Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tRESULT\tDURATION\tDETAIL")
	for _, ch := range r.Checks {
		result := "pass"
		if !ch.Passed {
			result = "FAIL"
		}
		d := time.Duration(ch.DurationMS * float64(time.Millisecond)).Round(100 * time.Microsecond)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ch.Name, result, d, strings.ReplaceAll(ch.Detail, "\n", " "))
	}
	tw.Flush()
}
