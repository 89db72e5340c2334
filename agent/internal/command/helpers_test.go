package command

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigilmon/vigil/agent/internal/discovery"
	"github.com/vigilmon/vigil/test/byhand"
	"github.com/vigilmon/vigil/test/testbin"
)

// testPlugins holds the counter test plugin, built once per test binary.
var testPlugins = testbin.New(map[string]string{"vigil-plugin-counter": "../../../test/plugins/counter"})

func TestMain(m *testing.M) { testbin.Main(m, testPlugins) }

// counter is the counter test plugin.
func counter(t *testing.T) string {
	t.Helper()
	return testPlugins.Path(t, "vigil-plugin-counter")
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
	dst := discovery.Path(filepath.Join(dir, "data", "plugins"), name, version)
	byhand.Copy(t, src, dst)
	if !lock {
		return dst
	}
	if hash == "" {
		hash = byhand.Hash(t, dst)
	}
	byhand.Lock(t, filepath.Join(dir, "vigil.lock.hcl"), name, version, hash)
	return dst
}
