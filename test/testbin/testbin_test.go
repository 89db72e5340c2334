package testbin

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSetBuildsEachBinaryUnderItsName(t *testing.T) {
	s := New(map[string]string{
		"vigil-plugin-counter": "../plugins/counter",
		"hang":                 "../plugins/hang",
	})
	defer s.Remove()
	for _, name := range []string{"vigil-plugin-counter", "hang"} {
		p := s.Path(t, name)
		if filepath.Base(p) != name {
			t.Errorf("Path(%s) = %s, want a file called %s", name, p, name)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&0o111 == 0 {
			t.Errorf("%s is not executable: %v", p, fi.Mode())
		}
	}
	first := s.Path(t, "hang")
	if again := s.Path(t, "hang"); again != first {
		t.Errorf("second Path = %s, want the first build's %s", again, first)
	}
	s.Remove()
	if _, err := os.Stat(filepath.Dir(first)); !os.IsNotExist(err) {
		t.Errorf("after Remove, %s: %v", filepath.Dir(first), err)
	}
}

func TestSetReportsABuildFailure(t *testing.T) {
	s := New(map[string]string{"missing": "./testdata/no-such-package"})
	defer s.Remove()
	if err := s.Build(); err == nil {
		t.Fatal("Build of a missing package succeeded")
	}
	if err := s.Build(); err == nil {
		t.Fatal("second Build forgot the first one's error")
	}
}
