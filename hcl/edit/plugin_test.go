package edit

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/hcl/agentconfig"
)

func TestPromiseIDs(t *testing.T) {
	src, err := os.ReadFile("testdata/ensure-plugin-promises.after.hcl")
	if err != nil {
		t.Fatal(err)
	}
	d, _ := Parse(src, "agent.hcl")
	// hello-fresh is commented out: not declared.
	if diff := cmp.Diff([]string{"disk-root", "hello-up", "load"}, d.PromiseIDs()); diff != "" {
		t.Errorf("PromiseIDs (-want +got):\n%s", diff)
	}
}

// A disabled promise block becomes a working one when the operator
// uncomments it and fills in the null keys.
func TestDisabledPromiseUncommented(t *testing.T) {
	d, _ := Parse([]byte("agent {\n  data_dir = \"data\"\n}\n"), "agent.hcl")
	err := d.EnsurePlugin(Plugin{Name: "hello", Version: "0.1.0", Promises: []Promise{
		{ID: "hello-fresh", Check: "fresh", Config: map[string]any{"path": nil, "max_age": "24h"}, Disabled: true,
			Comment: []string{"Not enabled: set path, then uncomment the block."}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(d.Bytes()), "\n") {
		if strings.HasPrefix(l, "  # ") && !strings.Contains(l, "Not enabled") {
			l = "  " + strings.TrimPrefix(l, "  # ")
		}
		lines = append(lines, strings.Replace(l, "null", `"/var/backups/*.gz"`, 1))
	}
	cfg, diags := agentconfig.Parse([]byte(strings.Join(lines, "\n")), "agent.hcl")
	if diags.HasErrors() {
		t.Fatalf("uncommented block does not decode: %s\n%s", diags.Error(), strings.Join(lines, "\n"))
	}
	if len(cfg.Plugins) != 1 || len(cfg.Plugins[0].Promises) != 1 {
		t.Fatalf("plugins %+v", cfg.Plugins)
	}
	p := cfg.Plugins[0].Promises[0]
	if p.ID != "hello-fresh" || p.Check != "fresh" || p.Config.GetAttr("path").AsString() != "/var/backups/*.gz" {
		t.Errorf("promise %+v", p)
	}
}

// Comment text may come from a plugin's manifest: whatever it holds, it
// stays comment, and the file declares only what EnsurePlugin was asked.
func TestPromiseCommentsStayComments(t *testing.T) {
	for _, tc := range []struct{ name, comment string }{
		{"newline", "fine\n}\nplugin \"evil\" {\n  version = \"6.6.6\"\n}\n#"},
		{"carriage return", "fine\rplugin \"evil\" {\r  version = \"6.6.6\"\r}"},
		{"line separator", "fine\u2028promise \"evil\" { command = [\"rm\"] }"},
		{"block comment end", "*/ plugin \"evil\" { version = \"6.6.6\" } /*"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, _ := Parse([]byte("agent {}\n"), "agent.hcl")
			err := d.EnsurePlugin(Plugin{Name: "hello", Version: "0.1.0", Promises: []Promise{
				{ID: "hello-up", Check: "up", Comment: []string{tc.comment}},
				{ID: "hello-x", Check: "x", Comment: []string{tc.comment}, Disabled: true},
			}})
			if err != nil {
				t.Fatal(err)
			}
			cfg, diags := agentconfig.Parse(d.Bytes(), "agent.hcl")
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			var got []string
			for _, p := range cfg.Plugins {
				got = append(got, "plugin "+p.Name)
				for _, pr := range p.Promises {
					got = append(got, "promise "+pr.ID)
				}
			}
			for _, p := range cfg.Promises {
				got = append(got, "exec promise "+p.ID)
			}
			if diff := cmp.Diff([]string{"plugin hello", "promise hello-up"}, got); diff != "" {
				t.Errorf("declared (-want +got):\n%s\n%s", diff, d.Bytes())
			}
		})
	}
}

// An enabled promise whose id the file already uses is refused whole, so
// callers check PromiseIDs first.
func TestEnsurePluginRefusesATakenPromiseID(t *testing.T) {
	src := []byte("promise \"hello-up\" {\n  command = [\"true\"]\n}\n")
	d, _ := Parse(src, "agent.hcl")
	err := d.EnsurePlugin(Plugin{Name: "hello", Version: "0.1.0", Promises: []Promise{{ID: "hello-up", Check: "up"}}})
	var inv *InvalidResultError
	if !errors.As(err, &inv) || !strings.Contains(err.Error(), "Duplicate promise") {
		t.Fatalf("error %v, want an InvalidResultError about the duplicate", err)
	}
	if diff := cmp.Diff(string(src), string(d.Bytes())); diff != "" {
		t.Errorf("a refused edit changed the document:\n%s", diff)
	}
	// Disabled, the same block is fine: it declares nothing.
	if err := d.EnsurePlugin(Plugin{Name: "hello", Version: "0.1.0", Promises: []Promise{{ID: "hello-up", Check: "up", Disabled: true}}}); err != nil {
		t.Fatal(err)
	}
}
