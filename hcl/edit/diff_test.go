package edit

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDiff(t *testing.T) {
	for _, tc := range []struct {
		name, a, b, want string
	}{
		{name: "equal", a: "x\n", b: "x\n", want: ""},
		{name: "change in the middle", a: "1\n2\n3\n4\n5\n6\n7\n8\n9\n", b: "1\n2\n3\n4\nfive\n6\n7\n8\n9\n",
			want: "--- a\n+++ b\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"},
		{name: "insert at end", a: "1\n", b: "1\n2\n", want: "--- a\n+++ b\n@@ -1,1 +1,2 @@\n 1\n+2\n"},
		{name: "into empty", a: "", b: "1\n", want: "--- a\n+++ b\n@@ -0,0 +1,1 @@\n+1\n"},
		{name: "no newline at end", a: "1", b: "2", want: "--- a\n+++ b\n@@ -1,1 +1,1 @@\n-1\n\\ No newline at end of file\n+2\n\\ No newline at end of file\n"},
		{name: "two hunks", a: "a\n1\n2\n3\n4\n5\n6\n7\n8\nb\n", b: "A\n1\n2\n3\n4\n5\n6\n7\n8\nB\n",
			want: "--- a\n+++ b\n@@ -1,4 +1,4 @@\n-a\n+A\n 1\n 2\n 3\n@@ -7,4 +7,4 @@\n 6\n 7\n 8\n-b\n+B\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Diff("a", "b", []byte(tc.a), []byte(tc.b))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestSave(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "agent.hcl")
	if err := os.WriteFile(p, []byte("old"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := Save(p, []byte("new")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "new" || fi.Mode().Perm() != 0o640 {
		t.Errorf("got %q mode %v, want \"new\" mode 0640", b, fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	fresh := filepath.Join(dir, "new.hcl")
	if err := Save(fresh, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(fresh); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("a new file: %v %v, want mode 0600", fi, err)
	}
	if err := Save(filepath.Join(dir, "missing", "x.hcl"), []byte("x")); err == nil {
		t.Error("no error saving into a missing directory")
	}
}
