package edit

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/hcl/agentconfig"
)

var update = flag.Bool("update", false, "rewrite the golden .after.hcl files")

// goldenCases edit testdata/<name>.before.hcl into <name>.after.hcl.
var goldenCases = []struct {
	name string
	op   func(d *Document) error
}{
	{"set-agent-interval", func(d *Document) error { return d.Set("agent.interval", "30s") }},
	{"set-new-attribute-before-trailing-comment", func(d *Document) error { return d.Set("agent.batch_size", "500") }},
	{"set-tag-existing", func(d *Document) error { return d.Set("agent.tags.site", "lyon") }},
	{"set-tag-new", func(d *Document) error { return d.Set("agent.tags.env", "prod") }},
	{"set-config-key-existing", func(d *Document) error { return d.Set("plugin.system.config.disk_fs_types", `["ext4"]`) }},
	{"set-config-key-new", func(d *Document) error { return d.Set("plugin.system.config.verbose", "true") }},
	{"set-config-key-object", func(d *Document) error { return d.Set("plugin.system.config.labels", `{"a": 1, "b": "x"}`) }},
	{"set-plugin-interval-new", func(d *Document) error { return d.Set("plugin.system.interval", "30s") }},
	{"set-nested-promise-config", func(d *Document) error { return d.Set("plugin.system.promise.disk-root.config.crit", "10%") }},
	{"set-new-nested-block", func(d *Document) error { return d.Set("plugin.system.collector.cpu.interval", "5s") }},
	{"set-signing-keys", func(d *Document) error { return d.Set("registry.signing_keys", "[ed25519:abc, ed25519:def]") }},
	{"set-single-line-block-value", func(d *Document) error { return d.Set("output.file.path", "/tmp/points.lp") }},
	{"set-new-root-block", func(d *Document) error { return d.Set("agent.interval", "30s") }},
	{"set-single-line-block-expands", func(d *Document) error { return d.Set("agent.jitter", "1s") }},
	{"set-empty-object-key", func(d *Document) error { return d.Set("plugin.system.config.path", "/") }},
	{"unset-attribute", func(d *Document) error { return d.Unset("registry.token") }},
	{"unset-attribute-with-comment", func(d *Document) error { return d.Unset("plugin.system.collect") }},
	{"unset-tag-inline", func(d *Document) error { return d.Unset("agent.tags.site") }},
	{"unset-config-key-with-comment", func(d *Document) error { return d.Unset("plugin.system.config.disk_fs_types") }},
	{"unset-block", func(d *Document) error { return d.Unset("promise.load") }},
	{"unset-nested-block", func(d *Document) error { return d.Unset("plugin.system.promise.disk-root") }},
	{"ensure-plugin-new", func(d *Document) error {
		return d.EnsurePlugin(Plugin{Name: "process", Version: "0.3.0", Collect: []string{"procs"}, Config: map[string]any{"names": []any{"nginx", "vigil"}}})
	}},
	{"ensure-plugin-update", func(d *Document) error {
		return d.EnsurePlugin(Plugin{Name: "system", Version: "1.3.0", Collect: []string{"ignored"},
			Promises: []Promise{{ID: "system-ignored", Check: "ignored"}}})
	}},
	{"ensure-plugin-empty-file", func(d *Document) error { return d.EnsurePlugin(Plugin{Name: "system", Version: "1.0.0"}) }},
	{"ensure-plugin-promises", func(d *Document) error {
		return d.EnsurePlugin(Plugin{Name: "hello", Version: "0.1.0", Collect: []string{"files"}, Config: map[string]any{"max_files": 1000},
			Promises: []Promise{
				{ID: "hello-up", Check: "up", Config: map[string]any{"message": "fine", "min": 1}, Comment: []string{"up: OK while the plugin answers."}},
				{ID: "hello-fresh", Check: "fresh", Config: map[string]any{"path": nil, "max_age": "24h"}, Disabled: true,
					Comment: []string{"fresh: CRITICAL when a file is too old.", "Not enabled: set path (glob pattern), then uncomment the block."}},
			}})
	}},
	{"ensure-plugin-promises-only", func(d *Document) error {
		return d.EnsurePlugin(Plugin{Name: "net", Version: "0.1.0", Collect: []string{},
			Promises: []Promise{{ID: "net-tcp", Check: "tcp", Config: map[string]any{"address": nil}, Disabled: true}}})
	}},
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			beforePath := filepath.Join("testdata", tc.name+".before.hcl")
			afterPath := filepath.Join("testdata", tc.name+".after.hcl")
			before, err := os.ReadFile(beforePath)
			if err != nil {
				t.Fatal(err)
			}
			if _, diags := agentconfig.Parse(before, beforePath); diags.HasErrors() {
				t.Fatalf("the before file is invalid: %s", diags.Error())
			}
			d, diags := Parse(before, beforePath)
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			if err := tc.op(d); err != nil {
				t.Fatalf("edit: %v", err)
			}
			got := d.Bytes()
			if *update {
				if err := os.WriteFile(afterPath, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(afterPath)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("result differs from %s (-want +got):\n%s", afterPath, diff)
			}
			// Everything outside the edited spot is byte-identical: the
			// change is one hunk, and the result decodes.
			if n := strings.Count(Diff("a", "b", before, got), "\n@@ "); n != 1 {
				t.Errorf("the edit changed %d places, want 1:\n%s", n, Diff("a", "b", before, got))
			}
			if _, diags := agentconfig.Parse(got, afterPath); diags.HasErrors() {
				t.Errorf("the result does not decode: %s", diags.Error())
			}
		})
	}
}

// A set keeps every comment of the file, a second identical set changes
// nothing, and unset after set of a new attribute restores the file.
func TestRoundTrip(t *testing.T) {
	src, err := os.ReadFile("testdata/commented.hcl")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"agent.jitter", "plugin.system.timeout", "promise.load.interval", "agent.flush_interval"} {
		t.Run(path, func(t *testing.T) {
			d, _ := Parse(src, "agent.hcl")
			if err := d.Set(path, "2s"); err != nil {
				t.Fatal(err)
			}
			once := d.Bytes()
			if err := d.Set(path, "2s"); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(once), string(d.Bytes())); diff != "" {
				t.Errorf("setting the same value again changed the file:\n%s", diff)
			}
			if err := d.Unset(path); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(src), string(d.Bytes())); diff != "" {
				t.Errorf("set then unset did not restore the file (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGet(t *testing.T) {
	src, err := os.ReadFile("testdata/commented.hcl")
	if err != nil {
		t.Fatal(err)
	}
	d, _ := Parse(src, "agent.hcl")
	for _, tc := range []struct {
		path, source, json string
	}{
		{"agent.interval", `"10s"`, `"10s"`},
		{"agent.tags", `{ site = "paris", role = "web" }`, `{"role":"web","site":"paris"}`},
		{"agent.tags.role", `"web"`, `"web"`},
		{"plugin.system.config.mounts", `3`, `3`},
		{"plugin.system.config.disk_fs_types", `["ext4", "xfs"]`, `["ext4","xfs"]`},
		{"plugin.system.promise.disk-root.config.warn", `"20%"`, `"20%"`},
		{"plugin.system.promise.disk-root.anomaly.result_count", `3`, `3`},
		{"output.file.path", `"/var/log/vigil/points.lp"`, `"/var/log/vigil/points.lp"`},
		{"output.stdout", `output "stdout" {}`, ``},
	} {
		t.Run(tc.path, func(t *testing.T) {
			v, err := d.Get(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.source, v.Source); diff != "" {
				t.Errorf("source (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.json, string(v.JSON)); diff != "" {
				t.Errorf("JSON (-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	src, err := os.ReadFile("testdata/commented.hcl")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		op      func(d *Document) error
		want    string // substring of the error
		notSet  bool
		invalid bool
	}{
		{name: "unknown attribute", op: func(d *Document) error { return d.Set("agent.intervall", "1s") }, want: `a agent block has no "intervall"`},
		{name: "did you mean", op: func(d *Document) error { return d.Set("agent.intervall", "1s") }, want: `Did you mean "interval"?`},
		{name: "unknown top level", op: func(d *Document) error { return d.Set("agnet.interval", "1s") }, want: `the top level of agent.hcl has no "agnet"`},
		{name: "top level did you mean", op: func(d *Document) error { return d.Set("plugins.x.version", "1.0.0") }, want: `Did you mean "plugin"?`},
		{name: "unknown output kind", op: func(d *Document) error { return d.Set("output.influx.url", "x") }, want: `Did you mean "influxdb"?`},
		{name: "label missing", op: func(d *Document) error { return d.Unset("plugin") }, want: "needs a label"},
		{name: "empty segment", op: func(d *Document) error { return d.Set("agent..interval", "1s") }, want: "empty segment"},
		{name: "bad duration", op: func(d *Document) error { return d.Set("agent.interval", "soon") }, want: `"soon" is not a duration`},
		{name: "bad number", op: func(d *Document) error { return d.Set("agent.batch_size", "many") }, want: `"many" is not a number`},
		{name: "bad bool", op: func(d *Document) error { return d.Set("agent.plugin_auto_mtls", "yes") }, want: `"yes" is not true or false`},
		{name: "bad list", op: func(d *Document) error { return d.Set("plugin.system.collect", "cpu") }, want: "is not a list"},
		{name: "bad map", op: func(d *Document) error { return d.Set("agent.tags", `{"a": 1}`) }, want: "not a JSON object of strings"},
		{name: "keys of a string", op: func(d *Document) error { return d.Set("agent.interval.x", "1") }, want: "has no keys"},
		{name: "set a block", op: func(d *Document) error { return d.Set("plugin.system", "1") }, want: "names a block"},
		{name: "get missing", op: func(d *Document) error { _, err := d.Get("agent.jitter"); return err }, notSet: true},
		{name: "get missing key", op: func(d *Document) error { _, err := d.Get("agent.tags.nope"); return err }, notSet: true},
		{name: "unset missing block", op: func(d *Document) error { return d.Unset("plugin.nope.version") }, notSet: true},
		{name: "unset missing key", op: func(d *Document) error { return d.Unset("plugin.system.config.nope") }, notSet: true},
		{name: "result invalid: plugin without version", op: func(d *Document) error { return d.Set("plugin.new.interval", "1s") }, invalid: true, want: "version"},
		{name: "result invalid: required attribute", op: func(d *Document) error { return d.Unset("registry.url") }, invalid: true},
		{name: "result invalid: reserved tag", op: func(d *Document) error { return d.Set("agent.tags.node", "x") }, invalid: true, want: "Reserved tag"},
		{name: "result invalid: bad version", op: func(d *Document) error { return d.EnsurePlugin(Plugin{Name: "system", Version: "latest"}) }, invalid: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, _ := Parse(src, "agent.hcl")
			err := tc.op(d)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q lacks %q", err, tc.want)
			}
			if got := errors.Is(err, ErrNotSet); got != tc.notSet {
				t.Errorf("errors.Is(err, ErrNotSet) = %v, want %v (%v)", got, tc.notSet, err)
			}
			var inv *InvalidResultError
			if got := errors.As(err, &inv); got != tc.invalid {
				t.Errorf("InvalidResultError = %v, want %v (%v)", got, tc.invalid, err)
			}
			if diff := cmp.Diff(string(src), string(d.Bytes())); diff != "" {
				t.Errorf("a refused edit changed the document:\n%s", diff)
			}
		})
	}
}

func TestParseRefusesBadSyntax(t *testing.T) {
	if _, diags := Parse([]byte("agent {"), "agent.hcl"); !diags.HasErrors() {
		t.Error("no diagnostics for an unclosed block")
	}
}

func TestQuotedLabel(t *testing.T) {
	src := "promise \"db.main\" {\n  command = [\"true\"]\n}\n"
	d, _ := Parse([]byte(src), "agent.hcl")
	if err := d.Set(`promise."db.main".timeout`, "5s"); err != nil {
		t.Fatal(err)
	}
	want := "promise \"db.main\" {\n  command = [\"true\"]\n  timeout = \"5s\"\n}\n"
	if diff := cmp.Diff(want, string(d.Bytes())); diff != "" {
		t.Error(diff)
	}
}

func TestInferValue(t *testing.T) {
	for in, want := range map[string]string{
		"true": "true", "false": "false", "12": "12", "-1.5": "-1.5", "1e3": "1000",
		"12s": `"12s"`, "0x10": `"0x10"`, "Inf": `"Inf"`, "NaN": `"NaN"`, "": `""`,
		`["a", 1]`: `["a", 1]`, `{"k": true}`: "{\n  k = true\n}", "[oops": `"[oops"`,
		`say "hi"`: `"say \"hi\""`, "${x}": `"$${x}"`,
	} {
		if got := render(inferValue(in)); got != want {
			t.Errorf("inferValue(%q) renders %s, want %s", in, got, want)
		}
	}
}
