package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/vigilmon/vigil/agent/internal/discovery"
	"github.com/vigilmon/vigil/agent/internal/install"
	"github.com/vigilmon/vigil/test/byhand"
	"github.com/vigilmon/vigil/test/syncbuf"
	"github.com/vigilmon/vigil/test/testbin"
)

// testPlugins are the test plugins the agent runs, built once per test
// binary.
var testPlugins = testbin.New(map[string]string{
	discovery.BinaryName("counter"): "../../../test/plugins/counter",
	discovery.BinaryName("noisy"):   "../../../test/plugins/noisy",
	discovery.BinaryName("hang"):    "../../../test/plugins/hang",
})

func TestMain(m *testing.M) { testbin.Main(m, testPlugins) }

// pluginBin returns the test plugin called name (counter, noisy, hang).
func pluginBin(t *testing.T, name string) string {
	t.Helper()
	return testPlugins.Path(t, discovery.BinaryName(name))
}

// agentDir is a temporary agent directory: agent.hcl with data_dir "data",
// the plugins installed as `vigil install --from-file` does.
type agentDir struct {
	t    *testing.T
	dir  string
	conf string
}

func newAgentDir(t *testing.T, config string, plugins ...string) *agentDir {
	t.Helper()
	a := &agentDir{t: t, dir: t.TempDir()}
	a.conf = filepath.Join(a.dir, "agent.hcl")
	a.write(config)
	if len(plugins) > 0 {
		var files []string
		for _, p := range plugins {
			files = append(files, pluginBin(t, p))
		}
		if _, err := install.LocalFiles(context.Background(), a.path("data/plugins"), LockPath(a.conf), files, hclog.NewNullLogger()); err != nil {
			t.Fatalf("installing %v: %v", plugins, err)
		}
	}
	return a
}

func (a *agentDir) path(rel string) string { return filepath.Join(a.dir, rel) }

// write replaces agent.hcl atomically, so a reload never reads half a file.
func (a *agentDir) write(config string) {
	a.t.Helper()
	tmp := a.conf + ".tmp"
	if err := os.WriteFile(tmp, []byte(config), 0o644); err != nil {
		a.t.Fatal(err)
	}
	if err := os.Rename(tmp, a.conf); err != nil {
		a.t.Fatal(err)
	}
}

// placeByHand copies a plugin binary into the plugin dir and locks its
// hash without starting it, as an operator could (noisy cannot be
// installed: install starts it, and its handshake is broken).
func (a *agentDir) placeByHand(name, version string) {
	a.t.Helper()
	byhand.Install(a.t, pluginBin(a.t, name), discovery.Path(a.path("data/plugins"), name, version), LockPath(a.conf), name, version)
}

// options returns Options for a's config with logs and stderr captured.
func (a *agentDir) options() (Options, *syncbuf.Buffer, *syncbuf.Buffer) {
	logs, stderr := &syncbuf.Buffer{}, &syncbuf.Buffer{}
	return Options{
		ConfigPath: a.conf,
		Log:        hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Debug}),
		Stdout:     &syncbuf.Buffer{},
		Stderr:     stderr,
	}, logs, stderr
}

// eventually polls cond every 20ms, failing the test after 10s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 10s, still not %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pluginProcesses lists the running processes whose executable is under
// dir: the plugins an agent in dir left behind.
func pluginProcesses(t *testing.T, dir string) []string {
	t.Helper()
	procs, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range procs {
		exe, err := os.Readlink(filepath.Join("/proc", p.Name(), "exe"))
		if err == nil && strings.HasPrefix(exe, dir+string(filepath.Separator)) {
			out = append(out, p.Name()+" "+exe)
		}
	}
	return out
}

// daemon runs Daemon in the background with signals from the returned
// channel; the test's cleanup cancels it if it still runs.
type daemon struct {
	sigs chan os.Signal
	done chan error
}

func startDaemon(t *testing.T, opts Options) *daemon {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{sigs: make(chan os.Signal), done: make(chan error, 1)}
	go func() { d.done <- Daemon(ctx, opts, d.sigs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-d.done:
		case <-time.After(30 * time.Second):
			t.Error("Daemon did not return within 30s of its context ending")
		}
	})
	return d
}

// signal delivers sig; Daemon has taken it when signal returns.
func (d *daemon) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	select {
	case d.sigs <- sig:
	case err := <-d.done:
		t.Fatalf("Daemon returned before %v: %v", sig, err)
	case <-time.After(10 * time.Second):
		t.Fatalf("Daemon did not take %v within 10s", sig)
	}
}

// wait returns Daemon's error.
func (d *daemon) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-d.done:
		d.done <- err // for the cleanup
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("Daemon did not return within 20s")
		return nil
	}
}
