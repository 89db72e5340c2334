package main

import (
	"sync"
	"syscall"
	"time"

	"github.com/vigilmon/vigil/test/procfs"
)

// clockTicks is the unit of utime and stime.
const clockTicks = procfs.ClockTicks

// proc reads /proc (or a fixture tree standing in for it).
type proc struct{ root string }

// ticks is the CPU time of pid, utime + stime.
func (p proc) ticks(pid int) (int64, error) {
	st, err := procfs.FS{Root: p.root}.Stat(pid)
	return st.Ticks, err
}

// rss is the resident memory of pid in KiB.
func (p proc) rss(pid int) (int64, error) {
	m, err := procfs.FS{Root: p.root}.Mem(pid)
	return m.RSS, err
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
