package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"

	"github.com/vigilmon/vigil/agent/internal/discovery"
	"github.com/vigilmon/vigil/agent/internal/supervisor"
	"github.com/vigilmon/vigil/hcl/agentconfig"
	"github.com/vigilmon/vigil/hcl/lockfile"
	"github.com/vigilmon/vigil/sdk"
	"github.com/vigilmon/vigil/sdk/host"
)

// LockFileName is the lock file's name, beside agent.hcl.
const LockFileName = "vigil.lock.hcl"

// plugin is one configured, running plugin of a Set.
type plugin struct {
	cfg        agentconfig.Plugin
	sup        *supervisor.Supervisor
	info       host.Info
	sha256     string
	collectors []host.Instance
	promises   []promiseInstance
}

type promiseInstance struct {
	host.Instance
	cfg agentconfig.PluginPromise
}

// Set is everything built from one configuration: plugins started and
// configured, ready to be scheduled. Plugins that failed are left out and
// reported in the diagnostics that came with the Set.
type Set struct {
	cfg     *agentconfig.Config
	plugins []*plugin
	failed  []string // plugins left out
	// failedWhy says why each left-out plugin is out (its first error).
	failedWhy map[string]string
}

// LockPath is the lock file that goes with the config file at cfgPath.
func LockPath(cfgPath string) string { return filepath.Join(filepath.Dir(cfgPath), LockFileName) }

// SocketDir is the short per-agent directory for plugin sockets: Unix
// socket paths are limited to ~100 bytes and data dirs can be long.
func SocketDir(dataDir string) string {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		abs = dataDir
	}
	h := sha256.Sum256([]byte(abs))
	return filepath.Join(os.TempDir(), fmt.Sprintf("vigil-%d-%s", os.Getuid(), hex.EncodeToString(h[:4])))
}

// buildSet starts and configures every plugin of cfg. It returns a Set
// even when some plugins fail, with diagnostics that say which and why;
// diagnostics are errors only about plugins, never about the file's syntax
// (the caller checked that already).
//
// socketDir must exist; the caller cleans it once at agent start, never on
// reload (running plugins have their sockets there).
func buildSet(ctx context.Context, cfg *agentconfig.Config, socketDir string, log hclog.Logger) (*Set, hcl.Diagnostics) {
	set := &Set{cfg: cfg}
	lock, diags := lockfile.Load(LockPath(cfg.Filename))
	if diags.HasErrors() {
		return set, diags
	}

	type result struct {
		p     *plugin
		diags hcl.Diagnostics
	}
	results := make([]result, len(cfg.Plugins))
	var wg sync.WaitGroup
	for i, pc := range cfg.Plugins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, d := startPlugin(ctx, pc, cfg.Agent, lock, socketDir, log)
			results[i] = result{p, d}
		}()
	}
	wg.Wait()
	for i, r := range results {
		diags = append(diags, r.diags...)
		if r.p == nil {
			set.failed = append(set.failed, cfg.Plugins[i].Name)
			if set.failedWhy == nil {
				set.failedWhy = map[string]string{}
			}
			for _, d := range r.diags {
				if d.Severity == hcl.DiagError {
					set.failedWhy[cfg.Plugins[i].Name] = d.Summary + ": " + d.Detail
					break
				}
			}
			continue
		}
		set.plugins = append(set.plugins, r.p)
	}
	return set, diags
}

func pluginDiag(pc agentconfig.Plugin, summary, detail string) *hcl.Diagnostic {
	r := pc.DeclRange
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: &r}
}

// startPlugin resolves, verifies, launches, validates and configures one
// plugin. On any error the plugin is stopped and nil returned.
func startPlugin(ctx context.Context, pc agentconfig.Plugin, a agentconfig.Agent, lock *lockfile.Lock, socketDir string, log hclog.Logger) (*plugin, hcl.Diagnostics) {
	entry, ok := lock.Plugin(pc.Name)
	if !ok {
		return nil, hcl.Diagnostics{pluginDiag(pc, "Plugin not installed",
			fmt.Sprintf("Plugin %q is not in the lock file %s. Install it with `vigil install %s`.", pc.Name, LockFileName, pc.Name))}
	}
	version := pc.Version
	if version == "" {
		version = entry.Version
	}
	if version != entry.Version {
		return nil, hcl.Diagnostics{pluginDiag(pc, "Plugin version not installed",
			fmt.Sprintf("agent.hcl asks for %s %s but the lock file has %s. Run `vigil install %s %s`.", pc.Name, version, entry.Version, pc.Name, version))}
	}
	hashes, ok := entry.Platforms[discovery.Platform()]
	if !ok || hashes.Binary == "" {
		return nil, hcl.Diagnostics{pluginDiag(pc, "No hash for this platform",
			fmt.Sprintf("The lock file has no binary hash of %s %s for %s, so it cannot be verified. Reinstall it with `vigil install %s %s`.", pc.Name, version, discovery.Platform(), pc.Name, version))}
	}
	sum, err := discovery.DecodeHash(hashes.Binary)
	if err != nil {
		return nil, hcl.Diagnostics{pluginDiag(pc, "Invalid hash in the lock file", err.Error())}
	}
	path := discovery.Path(a.PluginDir, pc.Name, version)
	if _, err := os.Stat(path); err != nil {
		return nil, hcl.Diagnostics{pluginDiag(pc, "Plugin binary missing",
			fmt.Sprintf("%s: %v. Reinstall it with `vigil install %s %s`.", path, err, pc.Name, version))}
	}
	sup := supervisor.New(supervisor.Spec{
		Name: pc.Name, Version: version, Path: path, SHA256: sum, AutoMTLS: a.PluginAutoMTLS,
		SocketDir: socketDir, CallTimeout: pc.Timeout,
	}, log.Named("supervisor"))
	info, err := sup.Start(ctx)
	if err != nil {
		summary := "Plugin failed to start"
		if errors.Is(err, host.ErrChecksum) {
			summary = "Plugin binary does not match the lock file"
		}
		return nil, hcl.Diagnostics{pluginDiag(pc, summary, err.Error())}
	}
	p := &plugin{cfg: pc, sup: sup, info: info, sha256: hashes.Binary}
	diags := p.instances()
	if !diags.HasErrors() {
		diags = append(diags, p.configure(ctx)...)
	}
	if diags.HasErrors() {
		sup.Stop()
		return nil, diags
	}
	return p, diags
}

// instances validates the plugin block against the schemas the plugin
// declared and builds its instances.
func (p *plugin) instances() hcl.Diagnostics {
	var diags hcl.Diagnostics
	pc := p.cfg
	collect := pc.Collect
	if collect == nil { // no collect attribute: every collector the plugin has
		for _, c := range p.info.Collectors {
			collect = append(collect, c.Name)
		}
	}
	schemas := map[string]sdk.Schema{}
	for _, name := range collect {
		m, ok := p.info.Collector(name)
		if !ok {
			diags = append(diags, pluginDiag(pc, "Unknown collector",
				fmt.Sprintf("Plugin %s %s has no collector %q.%s It has: %s.", p.info.Name, p.info.Version, name, agentconfig.DidYouMean(name, methodNames(p.info.Collectors)), strings.Join(methodNames(p.info.Collectors), ", "))))
			continue
		}
		schemas[name] = m.Schema
	}
	for _, c := range pc.Collectors {
		if _, ok := p.info.Collector(c.Name); !ok {
			r := c.DeclRange
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown collector",
				Detail:  fmt.Sprintf("Plugin %s %s has no collector %q.%s It has: %s.", p.info.Name, p.info.Version, c.Name, agentconfig.DidYouMean(c.Name, methodNames(p.info.Collectors)), strings.Join(methodNames(p.info.Collectors), ", ")),
				Subject: &r})
		}
	}
	if diags.HasErrors() {
		return diags
	}
	configs, d := agentconfig.PluginConfig(schemas, pc.Config, pc.ConfigExpr, pc.DeclRange)
	diags = append(diags, d...)
	for _, name := range collect {
		p.collectors = append(p.collectors, host.Instance{ID: "collector." + name, Kind: host.Collector, Method: name, Config: configs[name]})
	}
	for _, pp := range pc.Promises {
		m, ok := p.info.Promise(pp.Check)
		if !ok {
			r := pp.DeclRange
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown promise check",
				Detail:  fmt.Sprintf("Plugin %s %s has no promise check %q.%s It has: %s.", p.info.Name, p.info.Version, pp.Check, agentconfig.DidYouMean(pp.Check, methodNames(p.info.Promises)), strings.Join(methodNames(p.info.Promises), ", ")),
				Subject: &r})
			continue
		}
		raw, d := agentconfig.MethodConfig(m.Schema, pp.Config, pp.ConfigExpr, pp.DeclRange)
		diags = append(diags, d...)
		p.promises = append(p.promises, promiseInstance{Instance: host.Instance{ID: "promise." + pp.ID, Kind: host.Promise, Method: pp.Check, Config: raw}, cfg: pp})
	}
	return diags
}

// configure hands the instances to the plugin and maps what it rejects
// back onto the user's file.
func (p *plugin) configure(ctx context.Context) hcl.Diagnostics {
	all := append([]host.Instance(nil), p.collectors...)
	for _, pi := range p.promises {
		all = append(all, pi.Instance)
	}
	pdiags, err := p.sup.Configure(ctx, all)
	if err != nil {
		return hcl.Diagnostics{pluginDiag(p.cfg, "Plugin failed to configure", err.Error())}
	}
	var diags hcl.Diagnostics
	for _, d := range pdiags {
		expr, subject := p.cfg.ConfigExpr, p.cfg.DeclRange
		for _, pi := range p.promises {
			if pi.ID == d.InstanceID {
				expr, subject = pi.cfg.ConfigExpr, pi.cfg.DeclRange
			}
		}
		diags = append(diags, agentconfig.FromPluginDiagnostics(sdk.Diagnostics{d.Diagnostic}, expr, subject)...)
	}
	return diags
}

func methodNames(ms []host.Method) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	sort.Strings(out)
	return out
}

// stop stops every plugin of the set.
func (s *Set) stop() {
	var wg sync.WaitGroup
	for _, p := range s.plugins {
		wg.Add(1)
		go func() { defer wg.Done(); p.sup.Stop() }()
	}
	wg.Wait()
}

// ValidatePlugins starts the plugins of cfg, checks their configuration
// against the schemas they declare (and lets each plugin check it too),
// then stops them. It is `vigil config validate` beyond the file itself.
func ValidatePlugins(ctx context.Context, cfg *agentconfig.Config, log hclog.Logger) hcl.Diagnostics {
	// Its own socket dir: a running agent's sockets must not be touched.
	dir, cleanup, diags := tempSocketDir()
	if diags.HasErrors() {
		return diags
	}
	defer cleanup()
	set, diags := buildSet(ctx, cfg, dir, log)
	set.stop()
	return diags
}

// tempSocketDir is a private, short socket dir for a one-off run.
func tempSocketDir() (string, func(), hcl.Diagnostics) {
	dir, err := os.MkdirTemp("", "vigil-")
	if err != nil {
		return "", nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot prepare a plugin socket directory", Detail: err.Error()}}
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// prepareSocketDir creates the agent's socket dir and removes what a
// previous run (one that crashed) left there.
func prepareSocketDir(dataDir string) (string, hcl.Diagnostics) {
	dir := SocketDir(dataDir)
	if err := host.CleanSocketDir(dir); err != nil {
		return "", hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot prepare the plugin socket directory", Detail: err.Error()}}
	}
	return dir, nil
}
