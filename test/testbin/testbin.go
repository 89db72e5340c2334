package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"testing"
)

// Set is a set of main packages built together on first use.
type Set struct {
	pkgs map[string]string // binary name → package directory

	once  sync.Once
	dir   string
	paths map[string]string
	err   error
}

// New returns the set that builds each package directory of pkgs (relative
// to the test's working directory, such as "../../plugins/net") as the
// binary named by its key. Nothing is built until Build or Path.
func New(pkgs map[string]string) *Set { return &Set{pkgs: pkgs} }

// Build builds every binary of the set the first time it is called and
// returns that build's error ever after.
func (s *Set) Build() error {
	s.once.Do(func() { s.paths, s.err = s.build() })
	return s.err
}

func (s *Set) build() (map[string]string, error) {
	dir, err := os.MkdirTemp("", "vigil-testbin")
	if err != nil {
		return nil, fmt.Errorf("making the binaries' directory: %w", err)
	}
	s.dir = dir
	// go build names a main package's binary after its directory; build
	// into out/ and rename, so no built name can clobber a wanted one.
	out := filepath.Join(dir, "out")
	names := make([]string, 0, len(s.pkgs))
	for name := range s.pkgs {
		names = append(names, name)
	}
	sort.Strings(names)
	// Built as make build builds: smaller binaries, faster to hash and
	// to pack into release archives.
	args := []string{"build", "-trimpath", "-ldflags=-s -w", "-o", out + string(filepath.Separator)}
	for _, name := range names {
		args = append(args, s.pkgs[name])
	}
	if b, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building %v: %w\n%s", names, err, b)
	}
	paths := make(map[string]string, len(names))
	for _, name := range names {
		dst := filepath.Join(dir, name)
		if err := os.Rename(filepath.Join(out, filepath.Base(s.pkgs[name])), dst); err != nil {
			return nil, fmt.Errorf("naming binary %s: %w", name, err)
		}
		paths[name] = dst
	}
	return paths, nil
}

// Path returns the built binary called name, building the set first if
// needed; a failed build or an unknown name fails t.
func (s *Set) Path(t testing.TB, name string) string {
	t.Helper()
	if err := s.Build(); err != nil {
		t.Fatalf("testbin: %v", err)
	}
	p, ok := s.paths[name]
	if !ok {
		t.Fatalf("testbin: no binary %q in the set", name)
	}
	return p
}

// Remove deletes the built binaries; call it from TestMain after m.Run.
func (s *Set) Remove() {
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

// Main is a TestMain body: it runs the tests, removes the binaries of
// sets and exits with the tests' code.
func Main(m *testing.M, sets ...*Set) {
	code := m.Run()
	for _, s := range sets {
		s.Remove()
	}
	os.Exit(code)
}
