package command

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/vigilmon/vigil/agent/internal/agent"
	"github.com/vigilmon/vigil/agent/internal/install"
	"github.com/vigilmon/vigil/agent/internal/registryclient"
	"github.com/vigilmon/vigil/hcl/agentconfig"
	"github.com/vigilmon/vigil/hcl/edit"
)

// InstallCommand installs plugins.
type InstallCommand struct{ Meta }

// Synopsis implements Command.
func (c *InstallCommand) Synopsis() string { return "Install plugins into the plugin directory" }

// Help implements Command.
func (c *InstallCommand) Help() string {
	return `Usage: vigil install <plugin> [<version or constraint>] [options]
       vigil install --from-file BINARY [--from-file BINARY ...] [options]

  Installs a plugin from the registry: the newest approved version that
  matches the constraint ("1.2.3", ">= 1.2, < 2.0", "~> 1.2", "!= 1.2.4",
  comma-separated) is downloaded for this platform, its SHA256SUMS
  signature checked against the registry block's signing_keys (or, without
  them, the key the lock file recorded on first install), its sha256
  checked, unpacked, started once to confirm its name and version, and
  placed in <plugin_dir>/<name>/<version>/. vigil.lock.hcl records the
  version, constraint, source, key and hashes; agent.hcl gets a plugin
  block (or its version updated), shown as a diff. A running agent is told
  to reload. Ctrl-C (SIGINT or SIGTERM) stops the install and leaves
  nothing behind.

  A new plugin block lists the plugin's collectors with their default
  config and one promise "<plugin>-<check>" block per promise check: the
  checks the plugin accepts with their defaults alone are enabled, the
  others are written commented out, with what to set before you
  uncomment them.

  With --from-file, installs local plugin binaries instead (source
  "local"), without editing agent.hcl.

Options:
  --config FILE        agent configuration (default /etc/vigil/agent.hcl)
  --registry URL       registry (default: the registry block's url)
  --token T            agent token (default: the registry block's token)
  --upgrade            move to the newest version within the constraint
                       the lock file recorded
  --allow-withdrawn    install a withdrawn release (give its exact version)
  --from-file BINARY   a plugin executable (repeatable)
  --format F           human or json`
}

// registryArgs are the flags of the commands that talk to the registry.
type registryArgs struct {
	config, registry, token, format string
}

func (a *registryArgs) flags(name string, stderr io.Writer) *pflag.FlagSet {
	fs := newFlags(name, stderr)
	fs.StringVar(&a.config, "config", "/etc/vigil/agent.hcl", "agent configuration file")
	fs.StringVar(&a.registry, "registry", "", "registry URL")
	fs.StringVar(&a.token, "token", "", "agent token")
	fs.StringVar(&a.format, "format", "human", "output format")
	return fs
}

// Run implements Command.
func (c *InstallCommand) Run(ctx context.Context, args []string) int {
	var a registryArgs
	fs := a.flags("install", c.Stderr)
	files := fs.StringArray("from-file", nil, "plugin binary to install")
	upgrade := fs.Bool("upgrade", false, "upgrade within the recorded constraint")
	allowWithdrawn := fs.Bool("allow-withdrawn", false, "install a withdrawn release, by exact version")
	if err := fs.Parse(args); err != nil {
		return ExitUsage
	}
	if err := format(a.format).Valid(); err != nil {
		fmt.Fprintf(c.Stderr, "vigil install: %v\n", err)
		return ExitUsage
	}
	if len(*files) > 0 {
		if fs.NArg() > 0 {
			fmt.Fprintln(c.Stderr, "vigil install: give either a plugin name or --from-file, not both")
			return ExitUsage
		}
		return c.fromFiles(ctx, a, *files)
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		fmt.Fprintln(c.Stderr, "vigil install: give a plugin name and optionally a version or constraint, or give plugin binaries with --from-file")
		return ExitUsage
	}
	constraint := ""
	if fs.NArg() == 2 {
		constraint = fs.Arg(1)
		cons, err := install.ParseConstraints(constraint)
		if err != nil {
			fmt.Fprintf(c.Stderr, "vigil install: %v\n", err)
			return ExitUsage
		}
		if _, exact := cons.Exact(); *allowWithdrawn && !exact {
			fmt.Fprintf(c.Stderr, "vigil install: --allow-withdrawn needs the exact version to install, such as 1.2.0, not %q\n", constraint)
			return ExitUsage
		}
	} else if *allowWithdrawn {
		fmt.Fprintln(c.Stderr, "vigil install: --allow-withdrawn needs the exact version to install, such as: vigil install <plugin> 1.2.0 --allow-withdrawn")
		return ExitUsage
	}
	s, code := openSession(c.Meta, "install", a)
	if s == nil {
		return code
	}
	req := s.request(fs.Arg(0), constraint, *upgrade)
	req.AllowWithdrawn = *allowWithdrawn
	return s.install(ctx, []install.Request{req})
}

func (c *InstallCommand) fromFiles(ctx context.Context, a registryArgs, files []string) int {
	cfg, diags := agentconfig.Load(a.config)
	if diags.HasErrors() {
		agentconfig.WriteDiagnostics(c.Stderr, cfg.Files, diags, false)
		return ExitUsage
	}
	log, _ := newLogger(c.Stderr, "warn", "text")
	ctx, stop := interruptible(ctx, c.Signals)
	defer stop()
	done, err := install.LocalFiles(ctx, cfg.Agent.PluginDir, agent.LockPath(a.config), files, log)
	if a.format == "json" {
		if done == nil {
			done = []install.Installed{} // [] rather than null
		}
		b, _ := json.MarshalIndent(map[string]any{"installed": done, "error": errString(err)}, "", "  ")
		fmt.Fprintln(c.Stdout, string(b))
	} else {
		for _, in := range done {
			fmt.Fprintf(c.Stdout, "Installed %s %s (%s) to %s\n", in.Name, in.Version, in.SHA256, in.Path)
		}
	}
	if err != nil {
		fmt.Fprintf(c.Stderr, "vigil install: %v\n", err)
		return ExitFailure
	}
	return ExitOK
}

// session is one registry command's configuration and client.
type session struct {
	Meta
	name   string // the command, for messages
	args   registryArgs
	cfg    *agentconfig.Config
	client *registryclient.Client // nil for commands that need no registry
	keys   []string
	bar    *progressBar // nil when stderr is not a terminal
}

// openSession loads the configuration and builds the registry client from
// the flags or the registry block; a nil session comes with an exit code.
func openSession(m Meta, name string, a registryArgs) (*session, int) {
	cfg, diags := agentconfig.Load(a.config)
	if diags.HasErrors() {
		agentconfig.WriteDiagnostics(m.Stderr, cfg.Files, diags, false)
		return nil, ExitUsage
	}
	s := &session{Meta: m, name: name, args: a, cfg: cfg}
	url, token := a.registry, a.token
	if cfg.Registry != nil {
		if url == "" {
			url = cfg.Registry.URL
		}
		if token == "" {
			token = cfg.Registry.Token
		}
		s.keys = cfg.Registry.SigningKeys
	}
	if url == "" {
		fmt.Fprintf(m.Stderr, "vigil %s: no registry configured: add a registry block with a url to %s, or give --registry URL (or give plugin binaries with --from-file)\n", name, a.config)
		return nil, ExitUsage
	}
	client, err := registryclient.New(url, token, nil)
	if err != nil {
		fmt.Fprintf(m.Stderr, "vigil %s: %v\n", name, err)
		return nil, ExitUsage
	}
	s.client = client
	s.bar = newProgressBar(m.Stderr)
	return s, ExitOK
}

func (s *session) request(name, constraint string, upgrade bool) install.Request {
	log, _ := newLogger(s.Stderr, "warn", "text")
	var progress func(file string, done, total int64)
	if s.bar != nil {
		progress = s.bar.update
	}
	return install.Request{
		Name: name, Constraints: constraint, Upgrade: upgrade, Source: s.client.URL(), TrustedKeys: s.keys,
		PluginDir: s.cfg.Agent.PluginDir, LockPath: agent.LockPath(s.args.config),
		Progress: progress, Log: log,
	}
}

// installOutcome is the JSON view of one plugin installed.
type installOutcome struct {
	install.Result
	Error string `json:"error,omitempty"`
	// Enabled and Commented are the promise ids of a new plugin block:
	// enabled, or written commented out until configured.
	Enabled   []string `json:"enabled_promises,omitempty"`
	Commented []string `json:"commented_promises,omitempty"`
}

// interruptible returns ctx cancelled by the first SIGINT or SIGTERM on
// sigs (nil: never), so an install stops cleanly on Ctrl-C.
func interruptible(ctx context.Context, sigs <-chan os.Signal) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	if sigs == nil {
		return ctx, cancel
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case sig := <-sigs:
				if sig == syscall.SIGINT || sig == syscall.SIGTERM {
					cancel()
					return
				}
			}
		}
	}()
	return ctx, cancel
}

// install runs each request, then edits agent.hcl for those that changed,
// prints what happened and tells a running agent to reload.
func (s *session) install(ctx context.Context, reqs []install.Request) int {
	ctx, stop := interruptible(ctx, s.Signals)
	defer stop()
	var outcomes []installOutcome
	var changed []install.Result
	failed := false
	for _, req := range reqs {
		res, err := install.FromRegistry(ctx, s.client, req)
		s.bar.done()
		if err != nil {
			failed = true
			outcomes = append(outcomes, installOutcome{Result: install.Result{Installed: install.Installed{Name: req.Name}}, Error: err.Error()})
			fmt.Fprintf(s.Stderr, "vigil %s: %s: %v\n", s.name, req.Name, err)
			if errors.Is(err, install.ErrInterrupted) {
				break
			}
			continue
		}
		outcomes = append(outcomes, installOutcome{Result: res})
		if !res.Unchanged {
			changed = append(changed, res)
		}
		if s.args.format == "human" {
			s.describe(res)
		}
	}
	var summary []string
	diff, err := s.editConfig(func(d *edit.Document) error {
		summary = nil
		for i, res := range outcomes {
			if res.Error != "" {
				continue
			}
			// A new block spells out the collectors and their default
			// configuration, and the promise checks, for the operator
			// to adjust; an existing block only gets the new version.
			block := install.Block(res.Installed, d.PromiseIDs())
			_, err := d.Get("plugin." + res.Name)
			isNew := errors.Is(err, edit.ErrNotSet)
			if err := d.EnsurePlugin(block); err != nil {
				return err
			}
			if isNew {
				outcomes[i].Enabled, outcomes[i].Commented = promiseIDs(block)
				summary = append(summary, blockSummary(res.Installed, block, filepath.Base(s.args.config))...)
			}
		}
		return nil
	})
	if err != nil {
		failed = true
	} else if s.args.format == "human" {
		for _, line := range summary {
			fmt.Fprintln(s.Stdout, line)
		}
	}
	reloaded := ""
	if len(changed) > 0 || diff != "" {
		var names []string
		for _, res := range changed {
			names = append(names, res.Name)
		}
		reloaded = s.reload(ctx, names)
	}
	if s.args.format == "json" {
		if outcomes == nil {
			outcomes = []installOutcome{}
		}
		b, _ := json.MarshalIndent(map[string]any{"plugins": outcomes, "diff": diff, "reload": reloaded, "error": errString(err)}, "", "  ")
		fmt.Fprintln(s.Stdout, string(b))
	} else if reloaded != "" {
		fmt.Fprintln(s.Stdout, reloaded)
	}
	if failed {
		return ExitFailure
	}
	return ExitOK
}

func (s *session) describe(res install.Result) {
	w := s.Stdout
	switch {
	case res.Unchanged:
		fmt.Fprintf(w, "%s %s is already installed (%s).\n", res.Name, res.Version, res.Path)
		return
	case res.Previous != "" && res.Previous != res.Version:
		fmt.Fprintf(w, "Upgraded %s %s → %s from %s (%s) to %s\n", res.Name, res.Previous, res.Version, s.client.URL(), res.SHA256, res.Path)
	default:
		fmt.Fprintf(w, "Installed %s %s from %s (%s) to %s\n", res.Name, res.Version, s.client.URL(), res.SHA256, res.Path)
	}
	if res.KeyRecorded {
		fmt.Fprintf(w, "Trusted signing key %s on first use; recorded in %s.\n", res.SigningKey, filepath.Base(agent.LockPath(s.args.config)))
	}
	if res.Withdrawn {
		fmt.Fprintf(w, "Warning: %s %s was withdrawn from the registry; it was installed because you asked for it with --allow-withdrawn.\n", res.Name, res.Version)
	}
}

// promiseIDs splits the promise blocks of b into enabled and commented out.
func promiseIDs(b edit.Plugin) (enabled, commented []string) {
	for _, p := range b.Promises {
		if p.Disabled {
			commented = append(commented, p.ID)
		} else {
			enabled = append(enabled, p.ID)
		}
	}
	return enabled, commented
}

// blockSummary says what a new plugin block b (for in) enables and what
// it leaves commented out in file, and why.
func blockSummary(in install.Installed, b edit.Plugin, file string) []string {
	var on []string
	if len(b.Collect) > 0 {
		on = append(on, plural(len(b.Collect), "collector")+" "+strings.Join(b.Collect, ", "))
	}
	enabled, _ := promiseIDs(b)
	if len(enabled) > 0 {
		on = append(on, plural(len(enabled), "promise")+" "+strings.Join(enabled, ", "))
	}
	lines := []string{}
	if len(on) > 0 {
		lines = append(lines, fmt.Sprintf("Enabled for %s: %s.", in.Name, strings.Join(on, "; ")))
	} else {
		lines = append(lines, fmt.Sprintf("Enabled for %s: nothing yet.", in.Name))
	}
	if len(in.Needs) > 0 {
		var keys []string
		for _, n := range in.Needs {
			keys = append(keys, n.Key)
		}
		lines = append(lines, fmt.Sprintf("Set in the config of plugin %q, before the agent can run it: %s.", in.Name, strings.Join(keys, ", ")))
	}
	var off []string
	for _, p := range b.Promises {
		if !p.Disabled {
			continue
		}
		why := "see agent.hcl"
		for _, offer := range in.Promises {
			if install.PromiseID(in.Name, offer.Check) != p.ID {
				continue
			}
			var keys []string
			for _, n := range offer.Needs {
				if n.Key != "" && !slices.Contains(keys, n.Key) {
					keys = append(keys, n.Key)
				}
			}
			switch {
			case len(offer.Needs) == 0:
				why = "its id is already used"
			case len(keys) > 0:
				why = "set " + strings.Join(keys, ", ")
			}
		}
		off = append(off, fmt.Sprintf("%s (%s)", p.ID, why))
	}
	if len(off) > 0 {
		lines = append(lines, fmt.Sprintf("Commented out in %s until configured: %s %s.", file, plural(len(off), "promise"), strings.Join(off, ", ")))
	}
	return lines
}

func plural(n int, noun string) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}

// editConfig applies op to agent.hcl, saves it and prints the diff
// (human format); it returns the diff.
func (s *session) editConfig(op func(*edit.Document) error) (string, error) {
	path := s.args.config
	src, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(s.Stderr, "vigil %s: %v\n", s.name, err)
		return "", err
	}
	doc, diags := edit.Parse(src, path)
	if diags.HasErrors() {
		fmt.Fprintf(s.Stderr, "vigil %s: %s\n", s.name, diags.Error())
		return "", diags
	}
	if err := op(doc); err != nil {
		var invalid *edit.InvalidResultError
		if errors.As(err, &invalid) {
			fmt.Fprintf(s.Stderr, "vigil %s: not editing %s: the result would not be a valid configuration:\n", s.name, path)
			agentconfig.WriteDiagnostics(s.Stderr, invalid.Files, invalid.Diags, false)
		} else {
			fmt.Fprintf(s.Stderr, "vigil %s: editing %s: %v\n", s.name, path, err)
		}
		return "", err
	}
	out := doc.Bytes()
	diff := edit.Diff("a/"+path, "b/"+path, src, out)
	if diff == "" {
		return "", nil
	}
	if err := edit.Save(path, out); err != nil {
		fmt.Fprintf(s.Stderr, "vigil %s: %v\n", s.name, err)
		return "", err
	}
	if s.args.format == "human" {
		fmt.Fprint(s.Stdout, diff)
		fmt.Fprintf(s.Stdout, "Wrote %s.\n", path)
	}
	return diff, nil
}

// reload sends SIGHUP to the agent whose pid file is in the data dir (see
// agent.ReadPID) and says what it did; when the agent keeps a status file,
// it waits for the agent's report and says whether the plugins came up.
func (s *session) reload(ctx context.Context, plugins []string) string {
	pid, err := agent.ReadPID(s.cfg.Agent.DataDir)
	switch {
	case errors.Is(err, agent.ErrNotRunning):
		return "No running agent found; it will pick up the change at its next start."
	case err != nil:
		return fmt.Sprintf("Cannot tell whether an agent runs (%v); it will pick up the change at its next start.", err)
	}
	before, statusErr := agent.ReadStatus(s.cfg.Agent.DataDir)
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		return fmt.Sprintf("Cannot signal the agent (process %d: %v); restart it or send it SIGHUP to load the change.", pid, err)
	}
	msg := fmt.Sprintf("Told the running agent (process %d) to reload.", pid)
	if statusErr != nil {
		return msg // an agent that keeps no status: nothing to wait for
	}
	st, ok := waitForStatus(ctx, s.cfg.Agent.DataDir, before.Generation, reloadWait)
	if !ok {
		return msg + fmt.Sprintf(" It did not report back within %s; check its log.", reloadWait)
	}
	if st.ReloadError != "" {
		return msg + "\nThe agent rejected the new configuration and keeps the previous one: " + st.ReloadError
	}
	for _, name := range plugins {
		for _, p := range st.Plugins {
			if p.Name != name {
				continue
			}
			if p.Up {
				msg += fmt.Sprintf("\n%s %s is up in the agent.", p.Name, p.Version)
			} else {
				msg += fmt.Sprintf("\n%s %s did not come up in the agent: %s", p.Name, p.Version, p.Error)
			}
		}
	}
	return msg
}

// reloadWait bounds how long install waits for the agent's reload report.
const reloadWait = 30 * time.Second

// waitForStatus polls the agent's status file until its generation passes
// after, or the wait or ctx ends.
func waitForStatus(ctx context.Context, dataDir string, after int64, wait time.Duration) (agent.Status, bool) {
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if st, err := agent.ReadStatus(dataDir); err == nil && st.Generation > after {
			return st, true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return agent.Status{}, false
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
