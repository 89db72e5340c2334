package discovery

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestScan(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write("system/0.2.0/vigil-plugin-system", "b")
	write("system/0.1.0/vigil-plugin-system", "a")
	write("net/0.1.0/README", "not a plugin")
	if err := os.Symlink("/bin/sh", filepath.Join(dir, "net", "0.1.0", "vigil-plugin-net")); err != nil {
		t.Fatal(err)
	}
	got, err := Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []Found{
		{Name: "system", Version: "0.1.0", Path: filepath.Join(dir, "system/0.1.0/vigil-plugin-system"), SHA256: "sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"},
		{Name: "system", Version: "0.2.0", Path: filepath.Join(dir, "system/0.2.0/vigil-plugin-system"), SHA256: "sha256:3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if got, err := Scan(filepath.Join(dir, "missing")); err != nil || got != nil {
		t.Errorf("missing dir: %v %v", got, err)
	}
}

func TestDecodeHash(t *testing.T) {
	if _, err := DecodeHash("sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"md5:abc", "sha256:zz", "sha256:ca97"} {
		if _, err := DecodeHash(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
