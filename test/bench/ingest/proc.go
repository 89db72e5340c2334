package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat:
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// parseStatTicks returns utime + stime from the content of
// /proc/<pid>/stat. The command name (field 2) is in parentheses and may
// hold spaces and parentheses, so fields are counted from the last ')'.
func parseStatTicks(b []byte) (int64, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("no ')' after the command name")
	}
	// Fields from 3 (state) on: utime is field 14, stime 15.
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("%d fields after the command name, want at least 13", len(f))
	}
	utime, err := strconv.ParseInt(f[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("utime: %w", err)
	}
	stime, err := strconv.ParseInt(f[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stime: %w", err)
	}
	return utime + stime, nil
}

// parseVmRSS returns VmRSS in KiB from the content of /proc/<pid>/status.
func parseVmRSS(b []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0] != "VmRSS:" {
			continue
		}
		if len(f) != 3 || f[2] != "kB" {
			return 0, fmt.Errorf("unexpected line %q", sc.Text())
		}
		v, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("line %q: %w", sc.Text(), err)
		}
		return v, nil
	}
	return 0, errors.New("no VmRSS line (a kernel thread, or a zombie)")
}

// proc reads /proc (or a fixture tree standing in for it).
type proc struct{ root string }

func (p proc) ticks(pid int) (int64, error) {
	b, err := os.ReadFile(filepath.Join(p.root, strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, err
	}
	t, err := parseStatTicks(b)
	if err != nil {
		return 0, fmt.Errorf("parsing %s/%d/stat: %w", p.root, pid, err)
	}
	return t, nil
}

func (p proc) rss(pid int) (int64, error) {
	b, err := os.ReadFile(filepath.Join(p.root, strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, err
	}
	v, err := parseVmRSS(b)
	if err != nil {
		return 0, fmt.Errorf("parsing %s/%d/status: %w", p.root, pid, err)
	}
	return v, nil
}

// server is a watched server process.
type server struct {
	name string // "registry" or "influxd"
	pid  int
}

// cpuMark is the CPU time of each watched server and of this process at
// one moment.
type cpuMark struct {
	at    time.Time
	ticks []int64 // per server, in USER_HZ ticks; -1 if unreadable
	self  time.Duration
}

func markCPU(p proc, servers []server) cpuMark {
	m := cpuMark{at: time.Now(), ticks: make([]int64, len(servers)), self: selfCPU()}
	for i, s := range servers {
		t, err := p.ticks(s.pid)
		if err != nil {
			t = -1
		}
		m.ticks[i] = t
	}
	return m
}

// cores is the CPU each server used between a and b, in cores (1.0 is
// one core busy all along); -1 where unknown.
func cores(a, b cpuMark) []float64 {
	secs := b.at.Sub(a.at).Seconds()
	out := make([]float64, len(a.ticks))
	for i := range out {
		if a.ticks[i] < 0 || b.ticks[i] < 0 || secs <= 0 {
			out[i] = -1
			continue
		}
		out[i] = float64(b.ticks[i]-a.ticks[i]) / clockTicks / secs
	}
	return out
}

// selfCores is this process's CPU between a and b, in cores.
func selfCores(a, b cpuMark) float64 {
	secs := b.at.Sub(a.at).Seconds()
	if secs <= 0 {
		return 0
	}
	return (b.self - a.self).Seconds() / secs
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rssSampler samples the VmRSS of servers every period until stopped.
type rssSampler struct {
	proc    proc
	servers []server
	start   time.Time
	stopc   chan struct{}
	done    chan struct{}

	mu      sync.Mutex
	samples []rssSample
}

// rssSample is one sample: the time since the sampler started and the
// RSS of each server in KiB (-1 if unreadable).
type rssSample struct {
	at  time.Duration
	kib []int64
}

func startRSS(p proc, servers []server, period time.Duration) *rssSampler {
	s := &rssSampler{proc: p, servers: servers, start: time.Now(), stopc: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			s.sample()
			select {
			case <-t.C:
			case <-s.stopc:
				s.sample()
				return
			}
		}
	}()
	return s
}

func (s *rssSampler) sample() {
	smp := rssSample{at: time.Since(s.start), kib: make([]int64, len(s.servers))}
	for i, sv := range s.servers {
		v, err := s.proc.rss(sv.pid)
		if err != nil {
			v = -1
		}
		smp.kib[i] = v
	}
	s.mu.Lock()
	s.samples = append(s.samples, smp)
	s.mu.Unlock()
}

// stop ends sampling and returns every sample, oldest first.
func (s *rssSampler) stop() []rssSample {
	close(s.stopc)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.samples
}

// maxKiB is the largest RSS of server i over samples (-1 if never read).
func maxKiB(samples []rssSample, i int) int64 {
	m := int64(-1)
	for _, s := range samples {
		m = max(m, s.kib[i])
	}
	return m
}
