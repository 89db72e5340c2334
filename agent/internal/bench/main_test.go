package bench

import (
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The binaries the benchmarks run, built once by TestMain when a benchmark
// is asked for (plain `go test` runs only the unit tests and builds none).
var (
	counterBin string // test/plugins/counter
	counterSum []byte // its sha256, passed to host.Launch
	vigilBin   string // agent/cmd/vigil
	socketDir  string // short: Unix socket paths are limited to 108 bytes
)

func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "vb")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := 1
	if err := setup(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// setup builds the binaries into dir with one `go build` and hashes the
// plugin (which also brings it into the page cache).
func setup(dir string) error {
	bin := filepath.Join(dir, "bin")
	socketDir = filepath.Join(dir, "s")
	for _, d := range []string{bin, socketDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return err
		}
	}
	// The same flags as `make build`, so figures match what ships.
	cmd := exec.Command("go", "build", "-trimpath", "-tags", "grpcnotrace", "-ldflags", "-s -w", "-o", bin+"/",
		"github.com/vigilmon/vigil/test/plugins/counter",
		"github.com/vigilmon/vigil/agent/cmd/vigil")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building binaries: %w", err)
	}
	counterBin = filepath.Join(bin, "counter")
	vigilBin = filepath.Join(bin, "vigil")
	f, err := os.Open(counterBin)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("hashing %s: %w", counterBin, err)
	}
	counterSum = h.Sum(nil)
	return nil
}
