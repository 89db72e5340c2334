package install

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"

	"github.com/vigilmon/vigil/agent/internal/discovery"
	"github.com/vigilmon/vigil/hcl/lockfile"
	"github.com/vigilmon/vigil/test/testbin"
)

// testPlugins holds the counter test plugin and testdata/checks (promise
// checks), built once per test binary.
var testPlugins = testbin.New(map[string]string{
	"vigil-plugin-counter": "../../../test/plugins/counter",
	"vigil-plugin-checks":  "./testdata/checks",
})

func TestMain(m *testing.M) { testbin.Main(m, testPlugins) }

func counter(t *testing.T) string {
	t.Helper()
	return testPlugins.Path(t, "vigil-plugin-counter")
}

func lockEntries(t *testing.T, path string) map[string]lockfile.Entry {
	t.Helper()
	lock, diags := lockfile.Load(path)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	out := map[string]lockfile.Entry{}
	for _, n := range lock.Names() {
		e, _ := lock.Plugin(n)
		out[n] = *e
	}
	return out
}

// leftovers lists files under dir that are not installed plugins (staging
// copies that were not cleaned up).
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), ".install-") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func TestLocalFilesInstallsAndLocks(t *testing.T) {
	dir := t.TempDir()
	pluginDir, lockPath := filepath.Join(dir, "plugins"), filepath.Join(dir, "vigil.lock.hcl")
	src := counter(t)
	sum, err := lockfile.HashFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dest := discovery.Path(pluginDir, "counter", "0.1.0")
	want := []Installed{{Name: "counter", Version: "0.1.0", Path: dest, SHA256: sum,
		Collectors: []string{"seq"}, Defaults: map[string]any{"points": 3.0, "series": 1.0}}}
	wantLock := map[string]lockfile.Entry{"counter": {
		Name: "counter", Version: "0.1.0", Source: lockfile.SourceLocal,
		Platforms: map[string]lockfile.PlatformHashes{discovery.Platform(): {Binary: sum}},
	}}
	// Installing twice gives the same result (a reinstall).
	for i := range 2 {
		got, err := LocalFiles(context.Background(), pluginDir, lockPath, []string{src}, hclog.NewNullLogger())
		if err != nil {
			t.Fatalf("install %d: %v", i, err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("install %d (-want +got):\n%s", i, d)
		}
		if d := cmp.Diff(wantLock, lockEntries(t, lockPath)); d != "" {
			t.Errorf("install %d: lock (-want +got):\n%s", i, d)
		}
	}
	a, _ := os.ReadFile(src)
	b, err := os.ReadFile(dest)
	if err != nil || !bytes.Equal(a, b) {
		t.Fatalf("installed file differs from the source (%v)", err)
	}
	if fi, _ := os.Stat(dest); fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("installed file mode %v is not executable", fi.Mode())
	}
	if l := leftovers(t, pluginDir); len(l) > 0 {
		t.Errorf("staging files left behind: %v", l)
	}
}

// A file that is not a plugin fails, named, and is neither installed nor
// recorded; the other files are.
func TestLocalFilesReportsFailuresAndKeepsTheRest(t *testing.T) {
	dir := t.TempDir()
	pluginDir, lockPath := filepath.Join(dir, "plugins"), filepath.Join(dir, "vigil.lock.hcl")
	notPlugin := filepath.Join(dir, "not-a-plugin")
	if err := os.WriteFile(notPlugin, []byte("#!/bin/sh\necho hello\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	got, err := LocalFiles(context.Background(), pluginDir, lockPath, []string{notPlugin, counter(t), missing}, hclog.NewNullLogger())
	if err == nil {
		t.Fatal("no error for a file that is not a plugin")
	}
	for _, want := range []string{"installing " + notPlugin + ":", "installing " + missing + ":"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if len(got) != 1 || got[0].Name != "counter" {
		t.Errorf("installed %+v, want counter only", got)
	}
	entries := lockEntries(t, lockPath)
	if len(entries) != 1 || entries["counter"].Version != "0.1.0" {
		t.Errorf("lock entries: %+v", entries)
	}
	if l := leftovers(t, pluginDir); len(l) > 0 {
		t.Errorf("staging files left behind: %v", l)
	}
}

func TestLocalFilesNothingInstalledLeavesLockAlone(t *testing.T) {
	dir := t.TempDir()
	lockPath := filepath.Join(dir, "vigil.lock.hcl")
	_, err := LocalFiles(context.Background(), filepath.Join(dir, "plugins"), lockPath, []string{filepath.Join(dir, "missing")}, hclog.NewNullLogger())
	if err == nil {
		t.Fatal("no error for a missing file")
	}
	if _, err := os.Stat(lockPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a lock file was written although nothing was installed (%v)", err)
	}
}

func TestLocalFilesInterrupted(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got, err := LocalFiles(ctx, filepath.Join(dir, "plugins"), filepath.Join(dir, "vigil.lock.hcl"), []string{counter(t)}, hclog.NewNullLogger())
	if err == nil || !strings.Contains(err.Error(), "install interrupted") || len(got) != 0 {
		t.Fatalf("LocalFiles with a cancelled context: %+v, %v", got, err)
	}
}

func TestLocalFilesRefusesBrokenLockFile(t *testing.T) {
	dir := t.TempDir()
	lockPath := filepath.Join(dir, "vigil.lock.hcl")
	if err := os.WriteFile(lockPath, []byte("plugin \"x\" {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LocalFiles(context.Background(), filepath.Join(dir, "plugins"), lockPath, []string{counter(t)}, hclog.NewNullLogger())
	if err == nil || !strings.Contains(err.Error(), "reading lock file") {
		t.Fatalf("err = %v, want a lock file error", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "plugins")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("something was installed despite the broken lock file (%v)", err)
	}
}
