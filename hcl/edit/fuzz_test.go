package edit

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigilmon/vigil/hcl/agentconfig"
)

// fuzzPaths are the known paths FuzzEdit sets and unsets.
var fuzzPaths = []string{
	"agent.interval", "agent.tags", "agent.tags.site", "agent.batch_size", "agent.plugin_auto_mtls",
	"registry.url", "registry.signing_keys", "plugin.system", "plugin.system.version",
	"plugin.system.interval", "plugin.system.collect", "plugin.system.config", "plugin.system.config.disk_fs_types",
	"plugin.system.config.a.b", "plugin.system.promise.disk-root.config.min", "plugin.system.promise.disk-root",
	"plugin.system.collector.cpu.interval", "promise.load.timeout", "promise.load", "output.file.path",
}

// FuzzEdit applies a set or unset of a known path to a random file: it
// never panics, a successful edit always decodes, and a refused one
// leaves the document unchanged.
func FuzzEdit(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.before.hcl")
	for i, s := range seeds {
		src, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src, uint8(i), uint8(i), "30s")
		f.Add(src, uint8(i+1), uint8(i), `{"a": [1, "x"]}`)
	}
	f.Add([]byte("agent { tags = {} }\n"), uint8(0), uint8(2), "x")
	f.Add([]byte("plugin \"system\" {\n  version = \"1.0.0\"\n  config = { a = { b = 1 }, c = 2 }\n}\n"), uint8(1), uint8(13), "")
	f.Add([]byte("agent {}\n"), uint8(3), uint8(0), "x\n}\nplugin \"evil\" {\n  version = \"1.0.0\"\n}\n#")
	f.Add([]byte("agent {}\n"), uint8(3), uint8(0), "a\rpromise \"p\" { command = [\"x\"] }\u2028b")
	f.Fuzz(func(t *testing.T, src []byte, op, pathIdx uint8, value string) {
		d, diags := Parse(src, "agent.hcl")
		if diags.HasErrors() {
			return
		}
		path := fuzzPaths[int(pathIdx)%len(fuzzPaths)]
		var err error
		before, _ := agentconfig.Parse(src, "agent.hcl")
		switch op % 4 {
		case 0:
			err = d.Set(path, value)
		case 1:
			err = d.Unset(path)
		case 2:
			err = d.EnsurePlugin(Plugin{Name: "system", Version: value})
		default:
			// Comment text (from a plugin's manifest) stays comment.
			err = d.EnsurePlugin(Plugin{Name: "fz", Version: "1.0.0", Collect: []string{}, Promises: []Promise{
				{ID: "fz-x", Check: "x", Config: map[string]any{"k": value, "req": nil}, Comment: []string{value}, Disabled: true}}})
		}
		got := d.Bytes()
		if err != nil {
			if !bytes.Equal(got, src) {
				t.Fatalf("refused edit (%v) changed the document", err)
			}
			return
		}
		after, diags := agentconfig.Parse(got, "agent.hcl")
		if diags.HasErrors() {
			t.Fatalf("edit produced a file that does not decode: %s\n%s", diags.Error(), got)
		}
		if op%4 == 3 && before != nil && (len(after.Plugins) != len(before.Plugins)+1 || len(after.Promises) != len(before.Promises) || countPromises(after) != countPromises(before)) {
			t.Fatalf("a commented-out promise block changed what the file declares:\n%s", got)
		}
		if op%4 == 0 {
			if _, err := d.Get(path); err != nil && !errors.Is(err, ErrNotSet) {
				t.Fatalf("Get after Set: %v", err)
			}
		}
	})
}

func countPromises(cfg *agentconfig.Config) int {
	n := 0
	for _, p := range cfg.Plugins {
		n += len(p.Promises)
	}
	return n
}
