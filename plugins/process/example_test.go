package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/vigilmon/vigil/sdk"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// examplePlugin is a plugin block of example.hcl, read with the names
// of the agent.hcl contract (ARCHITECTURE.md).
type examplePlugin struct {
	name, version string
	collect       []string
	config        sdk.Config
	promises      []examplePromise
}

type examplePromise struct {
	id, check string
	config    sdk.Config
}

func readExample(t *testing.T) []examplePlugin {
	t.Helper()
	f, diags := hclparse.NewParser().ParseHCLFile("example.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	top, diags := f.Body.Content(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "plugin", LabelNames: []string{"name"}}}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var out []examplePlugin
	for _, b := range top.Blocks {
		body, diags := b.Body.Content(&hcl.BodySchema{
			Attributes: []hcl.AttributeSchema{{Name: "version", Required: true}, {Name: "collect"}, {Name: "interval"}, {Name: "config"}},
			Blocks:     []hcl.BlockHeaderSchema{{Type: "promise", LabelNames: []string{"id"}}},
		})
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		p := examplePlugin{name: b.Labels[0]}
		decodeAttr(t, body.Attributes["version"], &p.version)
		decodeAttr(t, body.Attributes["collect"], &p.collect)
		p.config = configAttr(t, body.Attributes["config"])
		for _, pb := range body.Blocks {
			pbody, diags := pb.Body.Content(&hcl.BodySchema{
				Attributes: []hcl.AttributeSchema{{Name: "check", Required: true}, {Name: "config"}, {Name: "interval"}, {Name: "timeout"}, {Name: "bang"}},
				Blocks:     []hcl.BlockHeaderSchema{{Type: "anomaly"}},
			})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			pr := examplePromise{id: pb.Labels[0], config: configAttr(t, pbody.Attributes["config"])}
			decodeAttr(t, pbody.Attributes["check"], &pr.check)
			p.promises = append(p.promises, pr)
		}
		out = append(out, p)
	}
	return out
}

// attrJSON evaluates an attribute (without variables) to JSON.
func attrJSON(t *testing.T, a *hcl.Attribute) []byte {
	t.Helper()
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	b, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		t.Fatalf("%s: %v", a.Name, err)
	}
	return b
}

func decodeAttr(t *testing.T, a *hcl.Attribute, dst any) {
	t.Helper()
	if a == nil {
		return
	}
	if err := json.Unmarshal(attrJSON(t, a), dst); err != nil {
		t.Fatalf("%s: %v", a.Name, err)
	}
}

func configAttr(t *testing.T, a *hcl.Attribute) sdk.Config {
	t.Helper()
	if a == nil {
		return emptyConfig()
	}
	c, err := sdk.ConfigFromJSON(attrJSON(t, a))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func emptyConfig() sdk.Config { return sdk.NewConfig(nil) }

// checkAgainst reports keys of cfg that no schema declares or whose value
// has the wrong type.
func checkAgainst(t *testing.T, cfg sdk.Config, schemas ...sdk.Schema) {
	t.Helper()
	var raw map[string]any
	if err := cfg.Decode(&raw); err != nil {
		t.Fatal(err)
	}
	for k, v := range raw {
		found := false
		for _, s := range schemas {
			for _, a := range s {
				if a.Name == k {
					found = true
					if err := a.Type.Check(v); err != nil {
						t.Errorf("config %s: %v", k, err)
					}
				}
			}
		}
		if !found {
			t.Errorf("config %s: no method of the plugin declares it", k)
		}
	}
}

// TestExample checks that example.hcl names this plugin and its version,
// that its config fits the schemas and that every method it uses builds
// from it; and that the README shows it verbatim.
func TestExample(t *testing.T) {
	m := newManifest()
	plugins := readExample(t)
	if len(plugins) != 1 || plugins[0].name != m.Name || plugins[0].version != m.Version {
		t.Fatalf("example.hcl declares %+v, want one plugin %q version %s", plugins, m.Name, m.Version)
	}
	p := plugins[0]
	var schemas []sdk.Schema
	for _, name := range p.collect {
		found := false
		for _, c := range m.Collectors {
			if c.Name == name {
				found = true
				schemas = append(schemas, c.Schema)
				if _, err := c.New(c.Schema.WithDefaults(p.config)); err != nil {
					t.Errorf("collector %s: %v", name, err)
				}
			}
		}
		if !found {
			t.Errorf("collect names %q, which the manifest does not declare", name)
		}
	}
	checkAgainst(t, p.config, schemas...)
	for _, pr := range p.promises {
		found := false
		for _, mp := range m.Promises {
			if mp.Name == pr.check {
				found = true
				checkAgainst(t, pr.config, mp.Schema)
				if _, err := mp.New(mp.Schema.WithDefaults(pr.config)); err != nil {
					t.Errorf("promise %s: %v", pr.id, err)
				}
			}
		}
		if !found {
			t.Errorf("promise %s checks %q, which the manifest does not declare", pr.id, pr.check)
		}
	}

	example, err := os.ReadFile("example.hcl")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), strings.TrimSpace(string(example))) {
		t.Error("README.md does not show example.hcl verbatim")
	}
}
