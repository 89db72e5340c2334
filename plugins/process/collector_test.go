package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilmon/vigil/sdk"
	"github.com/vigilmon/vigil/sdk/metric"
)

// Fields of the fixture processes at uptime 1000 s (testdata/proc). CPU
// percentages since start: postgres 100 used 40 s in the 800 s since it
// started at 200 s; 101 2 s in 500 s; nginx 200 1 s in 200 s; 201 20 s
// in 200 s; systemd 5 s in 1000 s; 400 nothing; 500 0.2 s in 100 s.
var (
	pg100 = map[string]any{"pid": int64(100), "cpu_percent": 5.0, "cpu_time_user": 30.0, "cpu_time_system": 10.0,
		"rss": int64(5000 * 4096), "vms": int64(200000000), "threads": int64(1), "fds": int64(3),
		"read_bytes": int64(4096), "write_bytes": int64(8192)}
	pg101 = map[string]any{"pid": int64(101), "cpu_percent": 0.4, "cpu_time_user": 1.0, "cpu_time_system": 1.0,
		"rss": int64(1000 * 4096), "vms": int64(100000000), "threads": int64(1)}
	nginx200 = map[string]any{"pid": int64(200), "cpu_percent": 0.5, "cpu_time_user": 0.5, "cpu_time_system": 0.5,
		"rss": int64(500 * 4096), "vms": int64(50000000), "threads": int64(1), "fds": int64(2),
		"read_bytes": int64(0), "write_bytes": int64(12288)}
	nginx201 = map[string]any{"pid": int64(201), "cpu_percent": 10.0, "cpu_time_user": 15.0, "cpu_time_system": 5.0,
		"rss": int64(700 * 4096), "vms": int64(60000000), "threads": int64(4)}
	weird400 = map[string]any{"pid": int64(400), "cpu_percent": 0.0, "cpu_time_user": 0.0, "cpu_time_system": 0.0,
		"rss": int64(100 * 4096), "vms": int64(10000000), "threads": int64(2)}
	long500 = map[string]any{"pid": int64(500), "cpu_percent": 0.2, "cpu_time_user": 0.1, "cpu_time_system": 0.1,
		"rss": int64(200 * 4096), "vms": int64(20000000), "threads": int64(1)}
)

func TestCollector(t *testing.T) {
	tests := []struct {
		name   string
		values map[string]any
		want   []metric.Point
	}{
		{"names", map[string]any{"names": []string{"postgres"}}, []metric.Point{
			procPoint("postgres", "postgres", pg100), procPoint("postgres", "postgres", pg101), lookupPoint("postgres", 2)}},
		{"names and a missing one", map[string]any{"names": []string{"nginx", "redis"}}, []metric.Point{
			procPoint("nginx", "nginx", nginx200), procPoint("nginx", "nginx", nginx201), lookupPoint("nginx", 2), lookupPoint("redis", 0)}},
		{"cmdline", map[string]any{"cmdline": `^nginx: worker`}, []metric.Point{
			procPoint("nginx", "^nginx: worker", nginx201), lookupPoint("^nginx: worker", 1)}},
		{"cmdline joined with spaces", map[string]any{"cmdline": `weird --flag=a b$`}, []metric.Point{
			procPoint("weird) name", "weird --flag=a b$", weird400), lookupPoint("weird --flag=a b$", 1)}},
		{"pidfile", map[string]any{"pidfile": "testdata/nginx.pid"}, []metric.Point{
			procPoint("nginx", "testdata/nginx.pid", nginx200), lookupPoint("testdata/nginx.pid", 1)}},
		{"missing pidfile", map[string]any{"pidfile": "testdata/nope.pid"}, []metric.Point{lookupPoint("testdata/nope.pid", 0)}},
		{"pidfile first, then names", map[string]any{"pidfile": "testdata/nginx.pid", "names": []string{"nginx"}}, []metric.Point{
			procPoint("nginx", "nginx", nginx201), procPoint("nginx", "testdata/nginx.pid", nginx200),
			lookupPoint("nginx", 1), lookupPoint("testdata/nginx.pid", 1)}},
		{"user alone", map[string]any{"user": "999"}, []metric.Point{
			procPoint("postgres", "999", pg100), procPoint("postgres", "999", pg101), lookupPoint("999", 2)}},
		{"user narrows names", map[string]any{"names": []string{"nginx", "postgres"}, "user": "0"}, []metric.Point{
			procPoint("nginx", "nginx", nginx200), lookupPoint("nginx", 1), lookupPoint("postgres", 0)}},
		{"name longer than comm", map[string]any{"names": []string{"a-very-long-process-name"}}, []metric.Point{
			procPoint("a-very-long-pro", "a-very-long-process-name", long500), lookupPoint("a-very-long-process-name", 1)}},
		{"parenthesis in comm", map[string]any{"names": []string{"weird) name"}}, []metric.Point{
			procPoint("weird) name", "weird) name", weird400), lookupPoint("weird) name", 1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pts, err := gather(t, fixture(t, tt.values))
			if err != nil {
				t.Fatal(err)
			}
			diffPoints(t, tt.want, pts)
		})
	}
}

func TestCollectorPidTag(t *testing.T) {
	pts, err := gather(t, fixture(t, map[string]any{"cmdline": "checkpointer", "pid_tag": true}))
	if err != nil {
		t.Fatal(err)
	}
	want := procPoint("postgres", "checkpointer", pg101)
	want.Tags["pid"] = "101"
	diffPoints(t, []metric.Point{want, lookupPoint("checkpointer", 1)}, pts)
}

// The second gather reports CPU usage since the first: postgres 100 used
// 10 s of CPU in the 10 s between them; 101 was replaced by a new process
// with the same pid (a later start time), measured since its start; 201
// exited.
func TestCollectorCPUSincePreviousGather(t *testing.T) {
	root := copyTree(t, "testdata/proc")
	c := fixture(t, map[string]any{"proc_root": root, "names": []string{"postgres", "nginx"}})
	if _, err := gather(t, c); err != nil {
		t.Fatal(err)
	}

	writeFile(t, filepath.Join(root, "uptime"), "1010.00 1600.00\n")
	writeFile(t, filepath.Join(root, "100", "stat"),
		"100 (postgres) S 1 100 100 0 -1 4194560 1000 0 0 0 3500 1500 0 0 20 0 1 0 20000 200000000 5000 18446744073709551615\n")
	writeFile(t, filepath.Join(root, "101", "stat"),
		"101 (postgres) S 1 101 101 0 -1 4194560 1000 0 0 0 5 5 0 0 20 0 1 0 100500 100000000 1000 18446744073709551615\n")
	if err := os.RemoveAll(filepath.Join(root, "201")); err != nil {
		t.Fatal(err)
	}
	pts, err := gather(t, c)
	if err != nil {
		t.Fatal(err)
	}
	pg100b := clone(pg100, map[string]any{"cpu_percent": 100.0, "cpu_time_user": 35.0, "cpu_time_system": 15.0})
	pg101b := clone(pg101, map[string]any{"cpu_percent": 2.0, "cpu_time_user": 0.05, "cpu_time_system": 0.05})
	nginx200b := clone(nginx200, map[string]any{"cpu_percent": 0.0})
	diffPoints(t, []metric.Point{
		procPoint("nginx", "nginx", nginx200b),
		procPoint("postgres", "postgres", pg100b), procPoint("postgres", "postgres", pg101b),
		lookupPoint("nginx", 1), lookupPoint("postgres", 2),
	}, pts)
}

func clone(m, over map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

func TestCollectorWithoutUptime(t *testing.T) {
	root := copyTree(t, "testdata/proc")
	if err := os.Remove(filepath.Join(root, "uptime")); err != nil {
		t.Fatal(err)
	}
	pts, err := gather(t, fixture(t, map[string]any{"proc_root": root, "cmdline": "checkpointer"}))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("accumulated error = %v, want one for the missing uptime", err)
	}
	without := clone(pg101, nil)
	delete(without, "cpu_percent")
	diffPoints(t, []metric.Point{procPoint("postgres", "checkpointer", without), lookupPoint("checkpointer", 1)}, pts)
}

func TestCollectorErrors(t *testing.T) {
	t.Run("bad pid file", func(t *testing.T) {
		acc := sdk.NewAccumulator(0, testTime, func(*metric.Batch) error { return nil })
		err := fixture(t, map[string]any{"pidfile": "testdata/bad.pid"}).Gather(context.Background(), acc)
		if err == nil {
			t.Error("Gather succeeded with a pid file holding garbage")
		}
	})
	t.Run("no proc", func(t *testing.T) {
		acc := sdk.NewAccumulator(0, testTime, func(*metric.Batch) error { return nil })
		err := fixture(t, map[string]any{"names": []string{"x"}, "proc_root": t.TempDir() + "/none"}).Gather(context.Background(), acc)
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Gather = %v, want fs.ErrNotExist", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var n int
		acc := sdk.NewAccumulator(0, testTime, func(b *metric.Batch) error { n += b.Len(); return nil })
		err := fixture(t, map[string]any{"names": []string{"postgres"}}).Gather(ctx, acc)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Gather = %v, want context.Canceled", err)
		}
		if err := acc.Flush(); err != nil || n != 0 {
			t.Errorf("%d points added after cancel (flush error %v)", n, err)
		}
	})
}

// TestNoMatcherWatchesTheAgent: with the defaults alone the plugin
// watches its parent process (the agent), so the defaults make a valid,
// useful configuration.
func TestNoMatcherWatchesTheAgent(t *testing.T) {
	g, err := newCollector(map[string]any{})
	if err != nil {
		t.Fatalf("defaults refused: %v", err)
	}
	pts, _ := gather(t, g)
	var pids []any
	for _, p := range pts {
		if p.Measurement == "process" {
			pids = append(pids, p.Fields["pid"])
		}
	}
	if len(pids) != 1 || fmt.Sprint(pids[0]) != fmt.Sprint(os.Getppid()) {
		t.Errorf("process points for pids %v, want one for the parent %d:\n%v", pids, os.Getppid(), pts)
	}
	c, err := newPromise(map[string]any{})
	if err != nil {
		t.Fatalf("promise defaults refused: %v", err)
	}
	res, err := c.Check(context.Background())
	if err != nil || res.Status != sdk.OK || !strings.Contains(res.Message, "the agent") {
		t.Errorf("Check = %+v, %v; want OK naming the agent", res, err)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name   string
		values map[string]any
		path   string
	}{
		{"empty name", map[string]any{"names": []string{"a", ""}}, "names"},
		{"bad regexp", map[string]any{"cmdline": "("}, "cmdline"},
		{"unknown user", map[string]any{"user": "no-such-user-vigil"}, "user"},
		{"empty proc_root", map[string]any{"names": []string{"a"}, "proc_root": ""}, "proc_root"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newCollector(tt.values)
			assertAttrError(t, err, tt.path)
			_, err = newPromise(tt.values)
			assertAttrError(t, err, tt.path)
		})
	}
}
