package byhand

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/vigilmon/vigil/hcl/lockfile"
)

// Install copies src to dst and locks name at version in the lock file at
// lockPath with dst's hash.
func Install(t testing.TB, src, dst, lockPath, name, version string) {
	t.Helper()
	Copy(t, src, dst)
	Lock(t, lockPath, name, version, Hash(t, dst))
}

// Copy copies the file src to dst, executable, creating dst's directory.
func Copy(t testing.TB, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatalf("byhand: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatalf("byhand: %v", err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatalf("byhand: %v", err)
	}
}

// Hash is the lock file's "sha256:..." hash of the file at path.
func Hash(t testing.TB, path string) string {
	t.Helper()
	sum, err := lockfile.HashFile(path)
	if err != nil {
		t.Fatalf("byhand: %v", err)
	}
	return sum
}

// Lock records name at version, from a local source, with binary hash for
// this platform (GOOS_GOARCH, as the agent names it) in the lock file at
// lockPath, which is created if missing; other entries are kept.
func Lock(t testing.TB, lockPath, name, version, hash string) {
	t.Helper()
	lock, diags := lockfile.Load(lockPath)
	if diags.HasErrors() {
		t.Fatalf("byhand: %s", diags.Error())
	}
	lock.Set(lockfile.Entry{Name: name, Version: version, Source: lockfile.SourceLocal,
		Platforms: map[string]lockfile.PlatformHashes{runtime.GOOS + "_" + runtime.GOARCH: {Binary: hash}}})
	if err := lock.Save(lockPath); err != nil {
		t.Fatalf("byhand: %v", err)
	}
}
