package main

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vigilmon/vigil/sdk"
	"github.com/vigilmon/vigil/sdk/metric"
)

// TestLive finds this test process through a pid file in the live /proc.
func TestLive(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the process plugin reads Linux's /proc")
	}
	pid := os.Getpid()
	pidfile := filepath.Join(t.TempDir(), "test.pid")
	writeFile(t, pidfile, strconv.Itoa(pid)+"\n")
	comm, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimSpace(string(comm))

	g, err := newCollector(map[string]any{"pidfile": pidfile})
	if err != nil {
		t.Fatal(err)
	}
	pts, err := gather(t, g)
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 2 {
		t.Fatalf("got %d points, want process and procstat_lookup: %v", len(pts), pts)
	}
	p := pts[0]
	if d := cmp.Diff(map[string]string{"process_name": name, "pattern": pidfile}, p.Tags); d != "" {
		t.Errorf("tags mismatch (-want +got):\n%s", d)
	}
	if got := p.Fields["pid"]; got != int64(pid) {
		t.Errorf("pid = %v, want %d", got, pid)
	}
	for _, f := range []string{"rss", "vms", "threads", "fds"} {
		if v, ok := p.Fields[f].(int64); !ok || v <= 0 {
			t.Errorf("%s = %v, want a positive int64", f, p.Fields[f])
		}
	}
	for _, f := range []string{"cpu_percent", "cpu_time_user", "cpu_time_system"} {
		if v, ok := p.Fields[f].(float64); !ok || v < 0 {
			t.Errorf("%s = %v, want a float64 >= 0", f, p.Fields[f])
		}
	}
	if d := cmp.Diff(lookupPoint(pidfile, 1), pts[1]); d != "" {
		t.Errorf("lookup mismatch (-want +got):\n%s", d)
	}

	c, err := newPromise(map[string]any{"pidfile": pidfile, "names": []string{name}, "max": 1})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != sdk.OK || !strings.HasPrefix(res.Message, "PROCS OK: 1 process with") {
		t.Errorf("running = %v %q, want OK with 1 process", res.Status, res.Message)
	}
}

// BenchmarkLiveScan measures one Gather over this machine's /proc with a
// command-line regexp, which reads every process's comm and cmdline.
func BenchmarkLiveScan(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("the process plugin reads Linux's /proc")
	}
	g, err := newCollector(map[string]any{"cmdline": "vigil-no-such-process", "names": []string{"init", "systemd"}})
	if err != nil {
		b.Fatal(err)
	}
	acc := sdk.NewAccumulator(0, testTime, func(*metric.Batch) error { return nil })
	b.ReportAllocs()
	for b.Loop() {
		if err := g.Gather(b.Context(), acc); err != nil {
			b.Fatal(err)
		}
		acc.Flush()
	}
	pids, _ := listPIDs("/proc")
	b.ReportMetric(float64(len(pids)), "procs")
}
