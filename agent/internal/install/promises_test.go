package install

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"

	"github.com/vigilmon/vigil/agent/internal/discovery"
	"github.com/vigilmon/vigil/agent/internal/registryclient/registrytest"
	"github.com/vigilmon/vigil/hcl/agentconfig"
	"github.com/vigilmon/vigil/hcl/edit"
	"github.com/vigilmon/vigil/sdk"
	"github.com/vigilmon/vigil/sdk/host"
)

var update = flag.Bool("update", false, "rewrite the golden testdata/*.after.hcl files")

func checks(t *testing.T) string {
	t.Helper()
	return testPlugins.Path(t, "vigil-plugin-checks")
}

// wantOffers is what installing testdata/checks learns of its promises.
var wantOffers = []Promise{
	{Check: "up", Description: "OK with the message.", Defaults: map[string]any{"message": "fine"}},
	{Check: "quiet", Description: "Always OK."},
	{Check: "dup", Description: "Always OK; the tests' agent.hcl already uses its id."},
	{Check: "file", Description: "Pretends to check a file.", Defaults: map[string]any{"max_age": "1h"},
		Needs: []Need{{Key: "path", Detail: "The file to check (string)", Required: true}}},
	{Check: "either", Description: "Needs a or b, which the schema cannot say.",
		Needs: []Need{{Key: "a", Detail: "Nothing to check: set a or b"}}},
}

// Installing a plugin with promise checks, from a registry: the result
// says which checks run on their defaults (the plugin itself was asked),
// the block written into agent.hcl matches the golden file, decodes with
// agentconfig, and its enabled promises are accepted and answered by the
// installed plugin.
func TestInstallWritesPromiseBlocks(t *testing.T) {
	f := newFixture(t)
	f.srv.Add(registrytest.Build(t, checks(t), "checks", "0.1.0", here, f.priv))
	req := f.request("")
	req.Name = "checks"
	res, err := FromRegistry(context.Background(), f.client, req)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(wantOffers, res.Promises); d != "" {
		t.Errorf("promises (-want +got):\n%s", d)
	}

	beforePath, afterPath := filepath.Join("testdata", "checks.before.hcl"), filepath.Join("testdata", "checks.after.hcl")
	before, err := os.ReadFile(beforePath)
	if err != nil {
		t.Fatal(err)
	}
	doc, diags := edit.Parse(before, "agent.hcl")
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if err := doc.EnsurePlugin(Block(res.Installed, doc.PromiseIDs())); err != nil {
		t.Fatal(err)
	}
	got := doc.Bytes()
	if *update {
		if err := os.WriteFile(afterPath, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(afterPath)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("agent.hcl differs from %s (-want +got):\n%s", afterPath, d)
	}

	cfg, diags := agentconfig.Parse(got, "agent.hcl")
	if diags.HasErrors() {
		t.Fatalf("the edited agent.hcl does not decode: %s", diags.Error())
	}
	var plugin *agentconfig.Plugin
	for i := range cfg.Plugins {
		if cfg.Plugins[i].Name == "checks" {
			plugin = &cfg.Plugins[i]
		}
	}
	if plugin == nil {
		t.Fatalf("no plugin \"checks\" block:\n%s", got)
	}
	var enabled []string
	for _, p := range plugin.Promises {
		enabled = append(enabled, p.ID+" "+p.Check)
	}
	if d := cmp.Diff([]string{"checks-up up", "checks-quiet quiet"}, enabled); d != "" {
		t.Errorf("enabled promises (-want +got):\n%s", d)
	}
	runPromises(t, res.Path, res.SHA256, plugin.Promises)
}

// runPromises configures promises in the plugin binary at path the way
// the agent does (config checked against the plugin's schema, defaults
// applied) and checks each once: every one must be accepted and OK.
func runPromises(t *testing.T, path, sum string, promises []agentconfig.PluginPromise) {
	t.Helper()
	raw, err := discovery.DecodeHash(sum)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p, err := host.Launch(ctx, host.Config{Name: "checks", Path: path, SHA256: raw, SocketDir: t.TempDir(), Logger: hclog.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var instances []host.Instance
	for _, pr := range promises {
		m, ok := p.Info().Promise(pr.Check)
		if !ok {
			t.Fatalf("promise %s: the plugin has no check %q", pr.ID, pr.Check)
		}
		js, diags := agentconfig.MethodConfig(m.Schema, pr.Config, pr.ConfigExpr, pr.DeclRange)
		if diags.HasErrors() {
			t.Fatalf("promise %s: %s", pr.ID, diags.Error())
		}
		instances = append(instances, host.Instance{ID: pr.ID, Kind: host.Promise, Method: pr.Check, Config: js})
	}
	diags, err := p.Configure(ctx, instances)
	if err != nil || len(diags) > 0 {
		t.Fatalf("configure: %v %+v", err, diags)
	}
	for _, in := range instances {
		res, err := p.Check(ctx, in.ID)
		if err != nil || res.Status != sdk.OK {
			t.Errorf("check %s: %+v, %v", in.ID, res, err)
		}
	}
}

func TestBlock(t *testing.T) {
	in := Installed{Name: "hello", Version: "0.1.0", Collectors: []string{"files"}, Defaults: map[string]any{"max_files": 1000.0},
		Needs: []Need{{Key: "paths", Detail: "Glob patterns (list(string))", Required: true}},
		Promises: []Promise{
			{Check: "fresh", Description: "CRITICAL when a file matching path is older than max_age or none matches, WARNING when one is older than warn_age, OK otherwise.",
				Defaults: map[string]any{"max_age": "24h"}, Needs: []Need{{Key: "path", Detail: "Glob pattern (string)", Required: true}}},
			{Check: "running", Defaults: map[string]any{"min": 1.0},
				Needs: []Need{{Key: "names", Detail: "No process selected: set names"}, {Detail: "and something else"}}},
			{Check: "up"},
			{Check: "taken"},
		}}
	want := edit.Plugin{Name: "hello", Version: "0.1.0", Collect: []string{"files"}, Config: map[string]any{"max_files": 1000.0, "paths": nil},
		Promises: []edit.Promise{
			{ID: "hello-fresh", Check: "fresh", Config: map[string]any{"max_age": "24h", "path": nil}, Disabled: true, Comment: []string{
				"fresh: CRITICAL when a file matching path is older than max_age or none",
				"matches, WARNING when one is older than warn_age, OK otherwise.",
				"Not enabled: set in config, then uncomment the block:",
				"  path: Glob pattern (string)",
			}},
			{ID: "hello-running", Check: "running", Config: map[string]any{"min": 1.0, "names": nil}, Disabled: true, Comment: []string{
				"Not enabled: with only its defaults, the plugin refuses it; set what it",
				"asks for in config, then uncomment the block:",
				"  names: No process selected: set names",
				"  and something else",
			}},
			{ID: "hello-up", Check: "up"},
			{ID: "hello-taken", Check: "taken", Disabled: true, Comment: []string{
				`Not enabled: this file already declares a promise "hello-taken"; give this`,
				"one another id, then uncomment the block.",
			}},
		}}
	if d := cmp.Diff(want, Block(in, []string{"disk", "hello-taken"})); d != "" {
		t.Errorf("Block (-want +got):\n%s", d)
	}
}
