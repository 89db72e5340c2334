package byhand

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/hcl/lockfile"
)

func TestInstallCopiesAndLocksWithoutRunning(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	// A binary that would leave a marker if it were ever run.
	marker := filepath.Join(dir, "ran")
	if err := os.WriteFile(src, []byte("#!/bin/sh\ntouch '"+marker+"'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lockPath := filepath.Join(dir, "vigil.lock.hcl")
	Lock(t, lockPath, "other", "2.0.0", "sha256:"+strings.Repeat("ab", 32))
	dst := filepath.Join(dir, "data", "plugins", "counter", "0.1.0", "vigil-plugin-counter")
	Install(t, src, dst, lockPath, "counter", "0.1.0")

	got, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "#!/bin/sh\ntouch '"+marker+"'\n" {
		t.Errorf("copied content %q", got)
	}
	if fi, _ := os.Stat(dst); fi.Mode().Perm() != 0o755 {
		t.Errorf("mode %v, want 0755", fi.Mode().Perm())
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("the binary was run (stat marker: %v)", err)
	}
	lock, diags := lockfile.Load(lockPath)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	want, err := lockfile.HashFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"counter", "other"}, lock.Names()); diff != "" {
		t.Errorf("locked plugins (-want +got):\n%s", diff)
	}
	e, _ := lock.Plugin("counter")
	if diff := cmp.Diff(lockfile.Entry{Name: "counter", Version: "0.1.0", Source: lockfile.SourceLocal,
		Platforms: map[string]lockfile.PlatformHashes{runtime.GOOS + "_" + runtime.GOARCH: {Binary: want}}}, *e); diff != "" {
		t.Errorf("lock entry (-want +got):\n%s", diff)
	}
}
