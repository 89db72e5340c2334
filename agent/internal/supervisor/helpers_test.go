package supervisor

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/vigilmon/vigil/sdk/host"
	"github.com/vigilmon/vigil/sdk/metric"
	"github.com/vigilmon/vigil/test/syncbuf"
	"github.com/vigilmon/vigil/test/testbin"
)

// testPlugins are the test plugins supervised here, built once per test
// binary.
var testPlugins = testbin.New(map[string]string{
	"vigil-plugin-counter": "../../../test/plugins/counter",
	"vigil-plugin-panicky": "../../../test/plugins/panicky",
	"vigil-plugin-hang":    "../../../test/plugins/hang",
})

func TestMain(m *testing.M) { testbin.Main(m, testPlugins) }

// pluginBin returns the test plugin called name (counter, panicky, hang).
func pluginBin(t *testing.T, name string) string {
	t.Helper()
	return testPlugins.Path(t, "vigil-plugin-"+name)
}

func fileSum(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return s[:]
}

// socketDir is a short directory: Unix socket paths are limited to ~100 bytes.
func socketDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "vs")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// copyBin copies a built plugin into the test's temp dir, so a test can
// replace it on disk without disturbing the others.
func copyBin(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(pluginBin(t, name))
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "vigil-plugin-"+name)
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}

// markerScript writes an executable shell script at path that creates
// marker when run: a "binary" whose execution a test can detect.
func markerScript(t *testing.T, path, marker string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte("#!/bin/sh\ntouch '"+marker+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Renamed into place, as an attacker (or a careless copy) would, so
	// no writer holds the file open when it could be executed.
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func noFile(t *testing.T, path, why string) {
	t.Helper()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s (stat %s: %v)", why, path, err)
	}
}

// newSup returns a supervisor of the test plugin name with short backoffs;
// mod adjusts the spec. The supervisor is stopped when the test ends.
func newSup(t *testing.T, name string, mod func(*Spec)) (*Supervisor, *syncbuf.Buffer) {
	t.Helper()
	path := pluginBin(t, name)
	spec := Spec{
		Name: name, Version: "0.1.0", Path: path, SHA256: fileSum(t, path),
		AutoMTLS: true, SocketDir: socketDir(t),
		BackoffMin: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
	}
	if mod != nil {
		mod(&spec)
	}
	logs := &syncbuf.Buffer{}
	s := New(spec, hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Debug}))
	t.Cleanup(s.Stop)
	return s, logs
}

// start is Start that must succeed.
func start(t *testing.T, s *Supervisor) host.Info {
	t.Helper()
	info, err := s.Start(context.Background())
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return info
}

// configure configures one instance, which must be accepted.
func configure(t *testing.T, s *Supervisor, in ...host.Instance) {
	t.Helper()
	diags, err := s.Configure(context.Background(), in)
	if err != nil || len(diags) > 0 {
		t.Fatalf("Configure: %v %+v", err, diags)
	}
}

// run runs s.Run in the background; the returned channel is closed when
// Run returns. The test's cleanup cancels it and waits.
func run(t *testing.T, s *Supervisor) (context.CancelFunc, <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return cancel, done
}

// waitFor polls cond at every up/down transition of s and at least every
// 20ms, failing the test after 10s.
func waitFor(t *testing.T, s *Supervisor, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		changed := s.Changed()
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10s, still not %s; health: %+v", what, s.Health())
		}
		select {
		case <-changed:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// waitGone waits until no process has pid (reaped, not a zombie).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still exists after 10s", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pid is the current plugin process.
func pid(t *testing.T, s *Supervisor) int {
	t.Helper()
	p := s.current()
	if p == nil {
		t.Fatal("plugin is not running")
	}
	n := p.Pid()
	if n <= 0 {
		t.Fatalf("plugin pid %d", n)
	}
	return n
}

func collect(s *Supervisor, id string) ([]metric.Point, error) {
	var pts []metric.Point
	err := s.Collect(context.Background(), id, 0, func(b *metric.Batch) error {
		pts = append(pts, b.Points()...)
		return nil
	})
	return pts, err
}

// seqs returns the counter plugin's "seq" field of each point.
func seqs(pts []metric.Point) []float64 {
	var out []float64
	for _, p := range pts {
		v, _ := p.Fields["seq"].(float64)
		out = append(out, v)
	}
	return out
}
