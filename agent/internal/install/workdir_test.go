package install

import (
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"
)

// workDir removes what killed installs left (unlocked work directories
// holding files, or empty ones older than freshWork) and keeps the work
// directory of an install at work, a fresh empty one, and anything else.
func TestWorkDirSweepsLeftovers(t *testing.T) {
	parent := t.TempDir()
	mk := func(name string, file bool, age time.Duration) {
		dir := filepath.Join(parent, name)
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if file {
			if err := os.WriteFile(filepath.Join(dir, "half.tar.gz"), []byte("partial"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		old := time.Now().Add(-age)
		if err := os.Chtimes(dir, old, old); err != nil {
			t.Fatal(err)
		}
	}
	mk(".vigil-install-killed", true, 0)
	mk(".vigil-install-killed-early", false, 2*freshWork)
	mk(".vigil-install-just-made", false, 0)
	mk("plugins", true, 2*freshWork)
	busy, doneBusy, err := workDir(parent, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(busy, "archive"), []byte("downloading"), 0o600); err != nil {
		t.Fatal(err)
	}

	dir, done, err := workDir(parent, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{".vigil-install-just-made", filepath.Base(busy), filepath.Base(dir), "plugins"}
	sort.Strings(want)
	if d := cmp.Diff(want, names(t, parent)); d != "" {
		t.Errorf("after the sweep (-want +got):\n%s", d)
	}
	done()
	doneBusy()
	if d := cmp.Diff([]string{".vigil-install-just-made", "plugins"}, names(t, parent)); d != "" {
		t.Errorf("after done (-want +got):\n%s", d)
	}
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}
