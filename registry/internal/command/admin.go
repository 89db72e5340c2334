package command

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/vigilmon/vigil/registry/internal/httpapi"
)

// TokenCreateCommand issues a token.
type TokenCreateCommand struct{ Meta }

// Synopsis implements Command.
func (c *TokenCreateCommand) Synopsis() string { return "Create an admin, publisher or agent token" }

// Help implements Command.
func (c *TokenCreateCommand) Help() string {
	return `Usage: vigil-registry token create --role admin|publisher|agent [--publisher NAME] [--node NAME]
                                   [--registry URL] [--token T] [--format human|json]

  Creates a token on a running registry and prints its secret once.
  A publisher token needs --publisher (created if it does not exist);
  an agent token may name its --node.`
}

// tokenArgs is token create's parsed arguments.
type tokenArgs struct {
	remote
	Request httpapi.TokenRequest
	Format  format
}

func parseTokenArgs(args []string, m Meta) (tokenArgs, error) {
	fs := newFlags("token create", m.Stderr)
	a := tokenArgs{}
	r := addRemoteFlags(fs, m.Getenv)
	fs.StringVar(&a.Request.Role, "role", "", "admin, publisher or agent")
	fs.StringVar(&a.Request.Publisher, "publisher", "", "the publisher (role publisher)")
	fs.StringVar(&a.Request.Node, "node", "", "the node (role agent, optional)")
	f := fs.String("format", "human", "output format: human or json")
	if err := fs.Parse(args); err != nil {
		return a, err
	}
	a.remote, a.Format = *r, format(*f)
	if fs.NArg() > 0 {
		return a, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := a.Format.Valid(); err != nil {
		return a, err
	}
	if err := a.Request.Validate(); err != nil {
		return a, err
	}
	return a, a.check()
}

// Run implements Command.
func (c *TokenCreateCommand) Run(ctx context.Context, args []string) int {
	a, err := parseTokenArgs(args, c.Meta)
	if err != nil {
		fmt.Fprintln(c.Stderr, err)
		return ExitUsage
	}
	var tok httpapi.TokenResponse
	if err := a.client().do(ctx, "POST", "/v1/tokens", a.Request, &tok); err != nil {
		fmt.Fprintf(c.Stderr, "creating token: %v\n", err)
		return ExitFailure
	}
	if a.Format == "json" {
		printJSON(c.Stdout, tok)
		return ExitOK
	}
	who := tok.Role
	if tok.Publisher != "" {
		who += " " + tok.Publisher
	}
	if tok.Node != "" {
		who += " for node " + tok.Node
	}
	fmt.Fprintf(c.Stdout, "Created %s token %d. Its secret, shown only now:\n\n  %s\n", who, tok.ID, tok.Secret)
	return ExitOK
}

// ReleasesCommand lists releases.
type ReleasesCommand struct{ Meta }

// Synopsis implements Command.
func (c *ReleasesCommand) Synopsis() string { return "List releases, e.g. those awaiting approval" }

// Help implements Command.
func (c *ReleasesCommand) Help() string {
	return `Usage: vigil-registry releases [--state STATE] [--plugin NAME]
                               [--registry URL] [--token T] [--format human|json]

  Lists releases on a running registry; --state passed shows those whose
  evaluation passed and that wait for approve or reject.`
}

type releasesArgs struct {
	remote
	State, Plugin string
	Format        format
}

func parseReleasesArgs(args []string, m Meta) (releasesArgs, error) {
	fs := newFlags("releases", m.Stderr)
	a := releasesArgs{}
	r := addRemoteFlags(fs, m.Getenv)
	fs.StringVar(&a.State, "state", "", "only releases in this state (pending, evaluating, passed, failed, approved, rejected, withdrawn, abandoned)")
	fs.StringVar(&a.Plugin, "plugin", "", "only this plugin's releases")
	f := fs.String("format", "human", "output format: human or json")
	if err := fs.Parse(args); err != nil {
		return a, err
	}
	a.remote, a.Format = *r, format(*f)
	if fs.NArg() > 0 {
		return a, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := a.Format.Valid(); err != nil {
		return a, err
	}
	return a, a.check()
}

// Run implements Command.
func (c *ReleasesCommand) Run(ctx context.Context, args []string) int {
	a, err := parseReleasesArgs(args, c.Meta)
	if err != nil {
		fmt.Fprintln(c.Stderr, err)
		return ExitUsage
	}
	q := url.Values{}
	if a.State != "" {
		q.Set("state", a.State)
	}
	if a.Plugin != "" {
		q.Set("plugin", a.Plugin)
	}
	var out struct {
		Releases []httpapi.ReleaseJSON `json:"releases"`
	}
	if err := a.client().do(ctx, "GET", "/v1/releases?"+q.Encode(), nil, &out); err != nil {
		fmt.Fprintf(c.Stderr, "listing releases: %v\n", err)
		return ExitFailure
	}
	if a.Format == "json" {
		printJSON(c.Stdout, out)
		return ExitOK
	}
	if len(out.Releases) == 0 {
		fmt.Fprintln(c.Stdout, "No releases match.")
		return ExitOK
	}
	tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PLUGIN\tVERSION\tSTATE\tPLATFORMS\tPUBLISHED")
	for _, r := range out.Releases {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Plugin, r.Version, r.State, strings.Join(r.Platforms, ","), r.Created.Format("2006-01-02 15:04"))
	}
	_ = tw.Flush()
	return ExitOK
}

// ActionCommand is approve, reject, withdraw or abandon.
type ActionCommand struct {
	Meta
	action string
}

// Synopsis implements Command.
func (c *ActionCommand) Synopsis() string {
	return map[string]string{
		"approve":  "Approve a release that passed evaluation (or reinstate a withdrawn one)",
		"reject":   "Reject a release that passed evaluation",
		"withdraw": "Withdraw an approved release (kept, no longer offered)",
		"abandon":  "Abandon a release (hidden from everyone but the admin)",
	}[c.action]
}

// Help implements Command.
func (c *ActionCommand) Help() string {
	reason := "[--reason TEXT]"
	if c.action != "approve" {
		reason = "--reason TEXT"
	}
	return fmt.Sprintf(`Usage: vigil-registry %s <plugin> <version> %s
                    [--registry URL] [--token T] [--format human|json]

  %s. The change and its reason are recorded in the release's history.`, c.action, reason, c.Synopsis())
}

type actionArgs struct {
	remote
	Plugin, Version, Reason string
	Format                  format
}

func parseActionArgs(action string, args []string, m Meta) (actionArgs, error) {
	fs := newFlags(action, m.Stderr)
	a := actionArgs{}
	r := addRemoteFlags(fs, m.Getenv)
	fs.StringVar(&a.Reason, "reason", "", "why (required but for approve)")
	f := fs.String("format", "human", "output format: human or json")
	if err := fs.Parse(args); err != nil {
		return a, err
	}
	a.remote, a.Format = *r, format(*f)
	if fs.NArg() != 2 {
		return a, fmt.Errorf("want <plugin> <version>, got %d arguments", fs.NArg())
	}
	a.Plugin, a.Version = fs.Arg(0), fs.Arg(1)
	if err := a.Format.Valid(); err != nil {
		return a, err
	}
	if action != "approve" && a.Reason == "" {
		return a, errors.New("--reason is required: it is recorded in the release's history and shown to the publisher")
	}
	return a, a.check()
}

// Run implements Command.
func (c *ActionCommand) Run(ctx context.Context, args []string) int {
	a, err := parseActionArgs(c.action, args, c.Meta)
	if err != nil {
		fmt.Fprintln(c.Stderr, err)
		return ExitUsage
	}
	var rel httpapi.ReleaseJSON
	path := "/v1/plugins/" + url.PathEscape(a.Plugin) + "/releases/" + url.PathEscape(a.Version) + "/" + c.action
	if err := a.client().do(ctx, "POST", path, httpapi.ActionRequest{Reason: a.Reason}, &rel); err != nil {
		fmt.Fprintf(c.Stderr, "%s %s %s: %v\n", c.action, a.Plugin, a.Version, err)
		return ExitFailure
	}
	if a.Format == "json" {
		printJSON(c.Stdout, rel)
		return ExitOK
	}
	fmt.Fprintf(c.Stdout, "%s %s is now %s.\n", rel.Plugin, rel.Version, rel.State)
	return ExitOK
}

// DeleteCommand is delete: remove a release for good.
type DeleteCommand struct {
	Meta
}

// Synopsis implements Command.
func (c *DeleteCommand) Synopsis() string {
	return "Delete a release, its history and its archives, in any state"
}

// Help implements Command.
func (c *DeleteCommand) Help() string {
	return `Usage: vigil-registry delete <plugin> <version>
                    [--registry URL] [--token T] [--format human|json]

  Delete a release: its record, history and evaluations leave the catalog
  and its archives leave the artifact directory, whatever its state, and
  the version may be published again. Nothing is kept: to hide a release
  but keep its record, abandon it instead.`
}

// DeleteJSON is what delete prints with --format json.
type DeleteJSON struct {
	Plugin  string `json:"plugin"`
	Version string `json:"version"`
	Deleted bool   `json:"deleted"`
}

type deleteArgs struct {
	remote
	Plugin, Version string
	Format          format
}

func parseDeleteArgs(args []string, m Meta) (deleteArgs, error) {
	fs := newFlags("delete", m.Stderr)
	a := deleteArgs{}
	r := addRemoteFlags(fs, m.Getenv)
	f := fs.String("format", "human", "output format: human or json")
	if err := fs.Parse(args); err != nil {
		return a, err
	}
	a.remote, a.Format = *r, format(*f)
	if fs.NArg() != 2 {
		return a, fmt.Errorf("want <plugin> <version>, got %d arguments", fs.NArg())
	}
	a.Plugin, a.Version = fs.Arg(0), fs.Arg(1)
	if err := a.Format.Valid(); err != nil {
		return a, err
	}
	return a, a.check()
}

// Run implements Command.
func (c *DeleteCommand) Run(ctx context.Context, args []string) int {
	a, err := parseDeleteArgs(args, c.Meta)
	if err != nil {
		fmt.Fprintln(c.Stderr, err)
		return ExitUsage
	}
	path := "/v1/plugins/" + url.PathEscape(a.Plugin) + "/releases/" + url.PathEscape(a.Version)
	if err := a.client().do(ctx, "DELETE", path, nil, nil); err != nil {
		fmt.Fprintf(c.Stderr, "delete %s %s: %v\n", a.Plugin, a.Version, err)
		return ExitFailure
	}
	if a.Format == "json" {
		printJSON(c.Stdout, DeleteJSON{Plugin: a.Plugin, Version: a.Version, Deleted: true})
		return ExitOK
	}
	fmt.Fprintf(c.Stdout, "Deleted %s %s.\n", a.Plugin, a.Version)
	return ExitOK
}
