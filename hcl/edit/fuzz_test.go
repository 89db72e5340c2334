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
	f.Fuzz(func(t *testing.T, src []byte, op, pathIdx uint8, value string) {
		d, diags := Parse(src, "agent.hcl")
		if diags.HasErrors() {
			return
		}
		path := fuzzPaths[int(pathIdx)%len(fuzzPaths)]
		var err error
		switch op % 3 {
		case 0:
			err = d.Set(path, value)
		case 1:
			err = d.Unset(path)
		default:
			err = d.EnsurePlugin("system", value, nil, nil)
		}
		got := d.Bytes()
		if err != nil {
			if !bytes.Equal(got, src) {
				t.Fatalf("refused edit (%v) changed the document", err)
			}
			return
		}
		if _, diags := agentconfig.Parse(got, "agent.hcl"); diags.HasErrors() {
			t.Fatalf("edit produced a file that does not decode: %s\n%s", diags.Error(), got)
		}
		if op%3 == 0 {
			if _, err := d.Get(path); err != nil && !errors.Is(err, ErrNotSet) {
				t.Fatalf("Get after Set: %v", err)
			}
		}
	})
}
