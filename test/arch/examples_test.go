package arch

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/vigilmon/vigil/hcl/agentconfig"
	"github.com/vigilmon/vigil/sdk"
	"github.com/vigilmon/vigil/sdk/host"
	"github.com/vigilmon/vigil/test/testbin"
)

// TestPluginExamples runs every plugin's example.hcl as the agent would:
// the plugin, built and launched, must be the one the file names at its
// version; the block's config must fit the schemas of the collectors it
// enables and each promise's config its check's schema; the plugin must
// accept every instance (so every method in it builds); and README.md must
// show example.hcl verbatim.
func TestPluginExamples(t *testing.T) {
	root := filepath.Join("..", "..", "plugins")
	dirs := pluginDirs(t, root)
	pkgs := map[string]string{}
	for _, name := range dirs {
		pkgs[name] = filepath.Join(root, name)
	}
	bins := testbin.New(pkgs)
	defer bins.Remove()
	for _, name := range dirs {
		t.Run(name, func(t *testing.T) {
			checkExample(t, filepath.Join(root, name), bins.Path(t, name))
		})
	}
}

// pluginDirs lists the directories under root.
func pluginDirs(t *testing.T, root string) []string {
	t.Helper()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	if len(out) < 3 {
		t.Fatalf("found plugins %v, want at least system, process and net", out)
	}
	return out
}

// checkExample checks dir's example.hcl and README.md against bin, the
// plugin built from dir.
func checkExample(t *testing.T, dir, bin string) {
	name := filepath.Base(dir)
	example := filepath.Join(dir, "example.hcl")
	cfg, diags := agentconfig.Load(example)
	if diags.HasErrors() {
		t.Fatalf("%s: %s", example, diags.Error())
	}
	if len(cfg.Plugins) != 1 || cfg.Plugins[0].Name != name {
		var got []string
		for _, p := range cfg.Plugins {
			got = append(got, p.Name)
		}
		t.Fatalf("%s declares plugins %v, want one plugin %q block", example, got, name)
	}
	p := launch(t, bin)
	info := p.Info()
	pc := cfg.Plugins[0]
	if info.Name != name || pc.Version != info.Version {
		t.Errorf("%s asks for %s %s; the plugin built from %s is %s %s", example, pc.Name, pc.Version, dir, info.Name, info.Version)
	}
	instances := exampleInstances(t, info, pc)
	pdiags, err := p.Configure(context.Background(), instances)
	if err != nil {
		t.Fatalf("configuring %s: %v", name, err)
	}
	for _, d := range pdiags {
		if d.Severity == sdk.SeverityError {
			t.Errorf("%s: the plugin rejects instance %s: %s: %s (config path %v)", example, d.InstanceID, d.Summary, d.Detail, d.Path)
		}
	}

	src, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), strings.TrimSpace(string(src))) {
		t.Errorf("%s/README.md does not show example.hcl verbatim", dir)
	}
}

// launch starts the plugin binary, checksum-verified as the agent does,
// and stops it when the test ends.
func launch(t *testing.T, bin string) *host.Plugin {
	t.Helper()
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	// A short socket directory: Unix socket paths are limited to ~100 bytes.
	sockets, err := os.MkdirTemp("", "va")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockets) })
	p, err := host.Launch(context.Background(), host.Config{Path: bin, SHA256: sum[:], SocketDir: sockets})
	if err != nil {
		t.Fatalf("launching %s: %v", bin, err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// exampleInstances checks the plugin block pc against the schemas info
// declares, as the agent does before it configures a plugin, and returns
// the instances the agent would configure; any diagnostic fails t.
func exampleInstances(t *testing.T, info host.Info, pc agentconfig.Plugin) []host.Instance {
	t.Helper()
	collect := pc.Collect
	if collect == nil { // no collect attribute: every collector
		for _, c := range info.Collectors {
			collect = append(collect, c.Name)
		}
	}
	schemas := map[string]sdk.Schema{}
	for _, c := range collect {
		m, ok := info.Collector(c)
		if !ok {
			t.Errorf("collect names %q, which plugin %s does not declare", c, info.Name)
			continue
		}
		schemas[c] = m.Schema
	}
	configs, diags := agentconfig.PluginConfig(schemas, pc.Config, pc.ConfigExpr, pc.DeclRange)
	noDiagnostics(t, "plugin "+pc.Name+" config", diags)
	var out []host.Instance
	for _, c := range collect {
		// A config with errors is not handed to the plugin, as the
		// agent would not; its diagnostics are failures already.
		if _, ok := schemas[c]; ok && !diags.HasErrors() {
			out = append(out, host.Instance{ID: "collector." + c, Kind: host.Collector, Method: c, Config: configs[c]})
		}
	}
	for _, pp := range pc.Promises {
		m, ok := info.Promise(pp.Check)
		if !ok {
			t.Errorf("promise %s checks %q, which plugin %s does not declare", pp.ID, pp.Check, info.Name)
			continue
		}
		raw, diags := agentconfig.MethodConfig(m.Schema, pp.Config, pp.ConfigExpr, pp.DeclRange)
		noDiagnostics(t, "promise "+pp.ID+" config", diags)
		if diags.HasErrors() {
			continue
		}
		out = append(out, host.Instance{ID: "promise." + pp.ID, Kind: host.Promise, Method: pp.Check, Config: raw})
	}
	return out
}

func noDiagnostics(t *testing.T, what string, diags hcl.Diagnostics) {
	t.Helper()
	for _, d := range diags {
		t.Errorf("%s: %s", what, d.Error())
	}
}
