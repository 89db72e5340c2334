package command

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/vigilmon/vigil/agent/internal/discovery"
	"github.com/vigilmon/vigil/hcl/lockfile"
	"github.com/vigilmon/vigil/sdk/sdktest"
)

var (
	buildOnce  sync.Once
	counterBin string
	binDir     string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// counter is the counter test plugin, built once per test binary.
func counter(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vigil-command-bin")
		if err != nil {
			t.Fatal(err)
		}
		binDir = dir
		counterBin = sdktest.BuildTo(t, "../../../test/plugins/counter", filepath.Join(dir, "vigil-plugin-counter"))
	})
	if counterBin == "" {
		t.Fatal("the counter test plugin was not built")
	}
	return counterBin
}

// result is what a command run printed and returned.
type result struct {
	code           int
	stdout, stderr string
}

// vigil runs the CLI in-process with args.
func vigil(args ...string) result {
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), Meta{Version: "1.2.3-test", Stdout: &stdout, Stderr: &stderr}, args)
	return result{code, stdout.String(), stderr.String()}
}

// agentDir writes agent.hcl (data_dir "data") with body in a temp dir.
func agentDir(t *testing.T, body string) (dir, conf string) {
	t.Helper()
	dir = t.TempDir()
	conf = filepath.Join(dir, "agent.hcl")
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, conf
}

// place copies the file src into the plugin dir as plugin name at version,
// and, with lock set, records hash (its own hash when hash is "") in the
// lock file. Nothing is executed.
func place(t *testing.T, dir, src, name, version string, lock bool, hash string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := discovery.Path(filepath.Join(dir, "data", "plugins"), name, version)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if !lock {
		return dst
	}
	if hash == "" {
		if hash, err = lockfile.HashFile(dst); err != nil {
			t.Fatal(err)
		}
	}
	lockPath := filepath.Join(dir, "vigil.lock.hcl")
	l, diags := lockfile.Load(lockPath)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	l.Set(lockfile.Entry{Name: name, Version: version, Source: lockfile.SourceLocal,
		Platforms: map[string]lockfile.PlatformHashes{discovery.Platform(): {Binary: hash}}})
	if err := l.Save(lockPath); err != nil {
		t.Fatal(err)
	}
	return dst
}
