package pipeline

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestStdout(t *testing.T) {
	var buf bytes.Buffer
	p := New(Config{Node: "n1", BatchSize: 2, FlushInterval: time.Hour}, nil, Stdout(&buf))
	for i := range 3 {
		if err := p.Write("p", testBatch(2, 2*i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(testLines(6, 0), buf.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestStdoutError(t *testing.T) {
	err := Stdout(failingWriter{}).Write(context.Background(), []byte("x\n"), 1)
	if err == nil || err.Error() != "writing to stdout: broken pipe" {
		t.Errorf("error = %v", err)
	}
}

func umask() os.FileMode {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return os.FileMode(m)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a", "b", "points.lp")
	out := File(path)
	ctx := context.Background()
	write := func(s string) {
		t.Helper()
		if err := out.Write(ctx, []byte(s), 1); err != nil {
			t.Fatal(err)
		}
	}

	write("one 1\n")
	mask := umask()
	for p, want := range map[string]os.FileMode{filepath.Join(dir, "a"): 0o755, filepath.Dir(path): 0o755, path: 0o644} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != want&^mask {
			t.Errorf("%s: mode %v, want %v", p, got, want&^mask)
		}
	}
	write("two 2\n")
	if got := readFile(t, path); got != "one 1\ntwo 2\n" {
		t.Errorf("appended: %q", got)
	}

	// Rotated away by rename: the old file keeps its lines, the path gets a new file.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	write("three 3\n")
	if got := readFile(t, path+".1"); got != "one 1\ntwo 2\n" {
		t.Errorf("rotated file: %q", got)
	}
	if got := readFile(t, path); got != "three 3\n" {
		t.Errorf("after rename: %q", got)
	}

	// Removed: recreated.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	write("four 4\n")
	if got := readFile(t, path); got != "four 4\n" {
		t.Errorf("after remove: %q", got)
	}

	// Close, then the existing file is appended to.
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	write("five 5\n")
	if got := readFile(t, path); got != "four 4\nfive 5\n" {
		t.Errorf("after reopen: %q", got)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestFileUnwritable(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "not-a-dir")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := File(filepath.Join(blocker, "points.lp")).Write(context.Background(), []byte("x 1\n"), 1)
	if err == nil || IsPermanent(err) {
		t.Errorf("error = %v, want a retryable error", err)
	}
}

func TestFileThroughPipeline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "points.lp")
	p := New(Config{Node: "n1", BatchSize: 5, FlushInterval: time.Hour}, nil, File(path))
	for i := range 4 {
		if err := p.Write("p", testBatch(5, 5*i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(testLines(20, 0), readFile(t, path)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestNoGoroutineLeak runs every built-in output and checks that Close
// leaves nothing behind.
func TestNoGoroutineLeak(t *testing.T) {
	srv := newInfluxServer(t)
	before := runtime.NumGoroutine()
	influx, err := InfluxDB(InfluxDBConfig{URL: srv.URL, Database: "db"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	p := New(Config{Node: "n1", BatchSize: 4, FlushInterval: time.Millisecond}, nil,
		Stdout(&buf), File(filepath.Join(t.TempDir(), "x.lp")), influx)
	for i := range 10 {
		if err := p.Write("p", testBatch(3, 3*i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkNoLeak(t, before)
	if got := p.Stats()["influxdb"].Sent; got != 30 {
		t.Errorf("influxdb sent %d points, want 30", got)
	}
}
