package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/vigilmon/vigil/sdk"
)

// processCollector reports the selected processes (measurement process)
// and how many processes each matcher selects (procstat_lookup). It keeps
// each process's previous CPU time, so cpu_percent is the usage since the
// previous gather, or since the process started on its first.
type processCollector struct {
	sel      *selector
	pidTag   bool
	pageSize uint64 // the unit of rss in /proc/<pid>/stat
	prev     map[procKey]cpuSample
}

// procKey names a process across gathers: a pid may be reused, but not
// with the same start time.
type procKey struct {
	pid   int
	start uint64
}

// cpuSample is a process's CPU time (ticks) at an uptime (seconds).
type cpuSample struct {
	ticks  uint64
	uptime float64
}

var _ sdk.Gatherer = (*processCollector)(nil)

func newProcessCollector(cfg sdk.Config) (sdk.Gatherer, error) {
	sel, err := newSelector(cfg)
	if err != nil {
		return nil, err
	}
	return &processCollector{sel: sel, pidTag: cfg.Bool("pid_tag"), pageSize: uint64(os.Getpagesize()), prev: map[procKey]cpuSample{}}, nil
}

func (c *processCollector) Gather(ctx context.Context, acc *sdk.Accumulator) error {
	matches, err := c.sel.find(ctx)
	if err != nil {
		return err
	}
	uptime, err := readUptime(c.sel.root)
	if err != nil {
		acc.AddError(err) // every field but cpu_percent can still go out
		uptime = -1
	}
	next := make(map[procKey]cpuSample, len(matches))
	counts := make(map[string]int64)
	for i, m := range matches {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("process gather interrupted: %w", err)
			}
		}
		fields, err := c.inspect(m, uptime, next)
		if err != nil {
			if gone(err) != nil {
				acc.AddError(fmt.Errorf("process %d (%s): %w", m.pid, m.comm, err))
			}
			continue
		}
		counts[m.pattern]++
		tags := map[string]string{"process_name": m.comm, "pattern": m.pattern}
		if c.pidTag {
			tags["pid"] = strconv.Itoa(m.pid)
		}
		acc.AddFields("process", tags, fields, acc.Time())
	}
	for _, p := range c.sel.patterns() {
		acc.AddFields("procstat_lookup", map[string]string{"pattern": p}, map[string]any{"count": counts[p]}, acc.Time())
	}
	c.prev = next
	return nil
}

// inspect reads one process's fields and records its CPU sample in next.
// Fields the plugin may not read (another user's fds or io) are left out.
func (c *processCollector) inspect(m match, uptime float64, next map[procKey]cpuSample) (map[string]any, error) {
	dir := filepath.Join(c.sel.root, strconv.Itoa(m.pid))
	data, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return nil, err
	}
	st, err := parsePidStat(data)
	if err != nil {
		return nil, fmt.Errorf("parsing stat: %w", err)
	}
	fields := map[string]any{
		"pid":             int64(m.pid),
		"cpu_time_user":   float64(st.utime) / clockTicks,
		"cpu_time_system": float64(st.stime) / clockTicks,
		"rss":             int64(st.rss * c.pageSize),
		"vms":             int64(st.vsize),
		"threads":         st.threads,
	}
	if uptime >= 0 {
		key := procKey{m.pid, st.startTime}
		cur := cpuSample{ticks: st.utime + st.stime, uptime: uptime}
		if pct, ok := cpuPercent(c.prev, key, cur); ok {
			fields["cpu_percent"] = pct
		}
		next[key] = cur
	}
	if n, err := countFDs(dir); err == nil {
		fields["fds"] = n
	}
	if io, err := os.ReadFile(filepath.Join(dir, "io")); err == nil {
		if r, w, err := parseIO(io); err == nil {
			fields["read_bytes"], fields["write_bytes"] = r, w
		}
	}
	return fields, nil
}

// cpuPercent is the share of one CPU the process used since its previous
// sample or, the first time it is seen, since it started (its start time
// is key.start ticks after boot). Multi-threaded processes can exceed
// 100, as in top(1).
func cpuPercent(prev map[procKey]cpuSample, key procKey, cur cpuSample) (float64, bool) {
	p, seen := prev[key]
	if !seen {
		p = cpuSample{ticks: 0, uptime: float64(key.start) / clockTicks}
	}
	dt := cur.uptime - p.uptime
	if dt <= 0 || cur.ticks < p.ticks {
		return 0, false
	}
	return 100 * float64(cur.ticks-p.ticks) / clockTicks / dt, true
}
