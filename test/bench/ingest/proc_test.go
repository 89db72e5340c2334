package main

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// writeProc writes a /proc entry for pid with the given ticks and RSS.
func writeProc(t *testing.T, root string, pid int, utime, stime, rssKiB int64) {
	t.Helper()
	dir := filepath.Join(root, strconv.Itoa(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	stat := strconv.Itoa(pid) + " (srv) S 1 1 1 0 -1 0 0 0 0 0 " + strconv.FormatInt(utime, 10) + " " + strconv.FormatInt(stime, 10) + " 0 0 20 0 1 0\n"
	status := "Name:\tsrv\nVmRSS:\t" + strconv.FormatInt(rssKiB, 10) + " kB\nRssAnon:\t" + strconv.FormatInt(rssKiB/2, 10) + " kB\nRssFile:\t" + strconv.FormatInt(rssKiB-rssKiB/2, 10) + " kB\n"
	if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "status"), []byte(status), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCPUFromProc(t *testing.T) {
	root := t.TempDir()
	p := proc{root: root}
	servers := []server{{"registry", 10}, {"influxd", 20}, {"gone", 30}}
	writeProc(t, root, 10, 100, 50, 1000)
	writeProc(t, root, 20, 10, 0, 2000)
	a := markCPU(p, servers)
	writeProc(t, root, 10, 250, 100, 1000) // +200 ticks
	writeProc(t, root, 20, 60, 0, 2000)    // +50 ticks
	b := markCPU(p, servers)
	// Two seconds apart: 200 ticks are one core, 50 a quarter.
	a.at = b.at.Add(-2 * time.Second)
	if diff := cmp.Diff([]float64{1, 0.25, -1}, cores(a, b)); diff != "" {
		t.Errorf("cores (-want +got):\n%s", diff)
	}
}

func TestRSSFromProc(t *testing.T) {
	root := t.TempDir()
	p := proc{root: root}
	servers := []server{{"registry", 10}, {"gone", 30}}
	writeProc(t, root, 10, 0, 0, 5000)
	s := &rssSampler{proc: p, servers: servers, start: time.Now()}
	s.sample()
	writeProc(t, root, 10, 0, 0, 9000)
	s.sample()
	writeProc(t, root, 10, 0, 0, 7000)
	s.sample()
	var got [][]int64
	for _, smp := range s.samples {
		got = append(got, smp.kib)
	}
	if diff := cmp.Diff([][]int64{{5000, -1}, {9000, -1}, {7000, -1}}, got); diff != "" {
		t.Errorf("samples (-want +got):\n%s", diff)
	}
	if m := maxKiB(s.samples, 0); m != 9000 {
		t.Errorf("max = %d, want 9000", m)
	}
	if m := maxKiB(s.samples, 1); m != -1 {
		t.Errorf("max of an unreadable process = %d, want -1", m)
	}
}

// TestRSSSampler checks the sampler's goroutine against this process.
func TestRSSSampler(t *testing.T) {
	s := startRSS(proc{root: "/proc"}, []server{{"self", os.Getpid()}}, time.Millisecond)
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		n := len(s.samples)
		s.mu.Unlock()
		if n >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d samples after 10s", n)
		}
		time.Sleep(time.Millisecond)
	}
	samples := s.stop()
	if maxKiB(samples, 0) <= 0 {
		t.Errorf("no RSS read for this process: %v", samples)
	}
	for i := 1; i < len(samples); i++ {
		if samples[i].at < samples[i-1].at {
			t.Fatalf("samples out of order: %v", samples)
		}
	}
}
