package agent

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/influxdata/line-protocol/v2/lineprotocol"

	"github.com/vigilmon/vigil/agent/internal/discovery"
	"github.com/vigilmon/vigil/agent/internal/install"
	"github.com/vigilmon/vigil/hcl/lockfile"
	"github.com/vigilmon/vigil/sdk/sdktest"
)

var (
	buildOnce sync.Once
	binDir    string
	bins      map[string]string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// pluginBin returns the test plugin called name (counter, noisy, hang),
// built once per test binary.
func pluginBin(t *testing.T, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vigil-agent-bin")
		if err != nil {
			t.Fatal(err)
		}
		binDir = dir
		built := map[string]string{}
		for _, n := range []string{"counter", "noisy", "hang"} {
			built[n] = sdktest.BuildTo(t, "../../../test/plugins/"+n, filepath.Join(dir, discovery.BinaryName(n)))
		}
		bins = built
	})
	p, ok := bins[name]
	if !ok {
		t.Fatalf("test plugin %s was not built", name)
	}
	return p
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
	b, err := os.ReadFile(pluginBin(a.t, name))
	if err != nil {
		a.t.Fatal(err)
	}
	dst := discovery.Path(a.path("data/plugins"), name, version)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		a.t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		a.t.Fatal(err)
	}
	sum, err := lockfile.HashFile(dst)
	if err != nil {
		a.t.Fatal(err)
	}
	lock, diags := lockfile.Load(LockPath(a.conf))
	if diags.HasErrors() {
		a.t.Fatal(diags.Error())
	}
	lock.Set(lockfile.Entry{Name: name, Version: version, Source: lockfile.SourceLocal,
		Platforms: map[string]lockfile.PlatformHashes{discovery.Platform(): {Binary: sum}}})
	if err := lock.Save(LockPath(a.conf)); err != nil {
		a.t.Fatal(err)
	}
}

// syncBuffer is a writer safe for the agent's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// options returns Options for a's config with logs and stderr captured.
func (a *agentDir) options() (Options, *syncBuffer, *syncBuffer) {
	logs, stderr := &syncBuffer{}, &syncBuffer{}
	return Options{
		ConfigPath: a.conf,
		Log:        hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Debug}),
		Stdout:     &syncBuffer{},
		Stderr:     stderr,
	}, logs, stderr
}

// point is a decoded line-protocol point.
type point struct {
	measurement string
	tags        map[string]string
	fields      map[string]any
}

// readPoints decodes the file at path; a missing file has no points, and a
// last line still being written is ignored.
func readPoints(t *testing.T, path string) []point {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	data = data[:bytes.LastIndexByte(data, '\n')+1]
	dec := lineprotocol.NewDecoderWithBytes(data)
	var pts []point
	for dec.Next() {
		m, err := dec.Measurement()
		if err != nil {
			t.Fatalf("decoding %s: %v", path, err)
		}
		p := point{measurement: string(m), tags: map[string]string{}, fields: map[string]any{}}
		for {
			k, v, err := dec.NextTag()
			if err != nil {
				t.Fatalf("decoding %s: %v", path, err)
			}
			if k == nil {
				break
			}
			p.tags[string(k)] = string(v)
		}
		for {
			k, v, err := dec.NextField()
			if err != nil {
				t.Fatalf("decoding %s: %v", path, err)
			}
			if k == nil {
				break
			}
			p.fields[string(k)] = v.Interface()
		}
		pts = append(pts, p)
	}
	return pts
}

// filter keeps the points of measurement that have all of tags.
func filter(pts []point, measurement string, tags map[string]string) []point {
	var out []point
next:
	for _, p := range pts {
		if p.measurement != measurement {
			continue
		}
		for k, v := range tags {
			if p.tags[k] != v {
				continue next
			}
		}
		out = append(out, p)
	}
	return out
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
