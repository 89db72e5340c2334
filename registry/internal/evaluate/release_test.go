package evaluate

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/vigilmon/vigil/sdk/release"
	"github.com/vigilmon/vigil/test/testbin"
)

var bins = testbin.New(map[string]string{
	"counter": "../../../test/plugins/counter",
	"hang":    "../../../test/plugins/hang",
	"probe":   "./testdata/probe",
})

func TestMain(m *testing.M) { testbin.Main(m, bins) }

// hostPlat is the evaluator's platform; otherPlat is one it cannot run.
var (
	hostPlat  = release.Platform{OS: runtime.GOOS, Arch: runtime.GOARCH}
	otherPlat = release.Platform{OS: "freebsd", Arch: "riscv64"}
)

// testRelease is a release directory being made, as a publisher would.
type testRelease struct {
	in   Input
	priv release.PrivateKey
}

func newRelease(t testing.TB, plugin, version string) *testRelease {
	t.Helper()
	pub, priv, err := release.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return &testRelease{Input{Plugin: plugin, Version: version, Dir: t.TempDir(), PublicKey: pub}, priv}
}

// add packages the built binary bin (or, for "fake", a small script that
// is not a plugin) as plugin name at version for p.
func (r *testRelease) add(t testing.TB, bin, name, version string, p release.Platform) *testRelease {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fake")
	if bin == "fake" {
		if err := os.WriteFile(path, []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	} else {
		path = bins.Path(t, bin)
	}
	// Archives are deterministic and their contents depend on neither the
	// version nor the platform; compressing a Go binary takes seconds
	// under -race: make each one once.
	key := [2]string{path, name}
	b, ok := archives.Load(key)
	if !ok {
		var buf bytes.Buffer
		a := release.Archive{Name: name, Version: "0.0.0", Platform: p, Binary: path}
		if err := release.WriteArchive(context.Background(), &buf, a); err != nil {
			t.Fatal(err)
		}
		b, _ = archives.LoadOrStore(key, buf.Bytes())
	}
	r.write(t, release.ArchiveName(name, version, p), b.([]byte))
	return r
}

var archives sync.Map // [binary path, plugin name] → []byte

// addRaw writes a hand-made archive for the release's host platform whose
// entries are the binary followed by evil.
func (r *testRelease) addRaw(t testing.TB, evil tar.Header) *testRelease {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	body := []byte("#!/bin/sh\n")
	hdrs := []tar.Header{{Typeflag: tar.TypeReg, Name: release.BinaryName(r.in.Plugin), Mode: 0o755, Size: int64(len(body))}, evil}
	for _, h := range hdrs {
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			if _, err := tw.Write(body[:h.Size]); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	r.write(t, release.ArchiveName(r.in.Plugin, r.in.Version, hostPlat), b.Bytes())
	return r
}

func (r *testRelease) write(t testing.TB, file string, b []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(r.in.Dir, file), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// sign writes SHA256SUMS over every archive and its signature.
func (r *testRelease) sign(t testing.TB) Input {
	t.Helper()
	archives, err := filepath.Glob(filepath.Join(r.in.Dir, "*.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	sums, err := release.SumFiles(archives...)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sums.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	r.write(t, release.SumsFile, raw)
	r.write(t, release.SignatureFile, release.Sign(r.priv, raw))
	return r.in
}

// outcome is a check as tests compare it: its name and whether it passed.
func outcomes(rep Report) []string {
	var out []string
	for _, c := range rep.Checks {
		mark := "ok"
		if !c.Passed {
			mark = "FAIL"
		}
		out = append(out, c.Name+": "+mark)
	}
	return out
}

// leftovers lists what an evaluation left in workDir and the processes
// still running a binary from it.
func leftovers(t testing.TB, workDir string) []string {
	t.Helper()
	var left []string
	entries, err := os.ReadDir(workDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		left = append(left, "file "+e.Name())
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if b, err := os.ReadFile(p); err == nil && strings.HasPrefix(string(b), workDir) {
			left = append(left, "process "+p)
		}
	}
	return left
}
