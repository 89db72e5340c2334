package main

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseStatTicks(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    int64
		wantErr bool
	}{
		{
			name: "influxd",
			in:   "4242 (influxd) S 1 4242 4242 0 -1 4194560 2137 0 0 0 153 47 0 0 20 0 9 0 1234 1000000 3000 18446744073709551615\n",
			want: 200,
		},
		{
			name: "command with spaces and parentheses",
			in:   "77 (a (b) c) R 4242 77 77 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0 1 1 1\n",
			want: 11,
		},
		{name: "no parenthesis", in: "77 influxd S 1", wantErr: true},
		{name: "truncated", in: "77 (influxd) S 1 2 3", wantErr: true},
		{name: "bad utime", in: "77 (v) S 1 77 77 0 -1 0 0 0 0 0 x 6 0\n", wantErr: true},
		{name: "bad stime", in: "77 (v) S 1 77 77 0 -1 0 0 0 0 0 5 y 0\n", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStatTicks([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("ticks = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestParseVmRSS(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    int64
		wantErr bool
	}{
		{
			name: "process",
			in:   "Name:\tvigil-registry\nVmPeak:\t 1300 kB\nVmHWM:\t 20000 kB\nVmRSS:\t   15872 kB\nRssAnon:\t    5000 kB\n",
			want: 15872,
		},
		{name: "kernel thread", in: "Name:\tkthreadd\nState:\tS (sleeping)\n", wantErr: true},
		{name: "other unit", in: "VmRSS:\t 3 MB\n", wantErr: true},
		{name: "not a number", in: "VmRSS:\t x kB\n", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseVmRSS([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("VmRSS = %d, want %d", got, tc.want)
			}
		})
	}
}

// writeProc writes a /proc entry for pid with the given ticks and RSS.
func writeProc(t *testing.T, root string, pid int, utime, stime, rssKiB int64) {
	t.Helper()
	dir := filepath.Join(root, strconv.Itoa(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	stat := strconv.Itoa(pid) + " (srv) S 1 1 1 0 -1 0 0 0 0 0 " + strconv.FormatInt(utime, 10) + " " + strconv.FormatInt(stime, 10) + " 0 0 20 0 1 0\n"
	status := "Name:\tsrv\nVmRSS:\t" + strconv.FormatInt(rssKiB, 10) + " kB\n"
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
