package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vigilmon/vigil/sdk"
)

// Columns of a cpu line of /proc/stat, in file order (USER_HZ ticks).
const (
	cUser = iota
	cNice
	cSystem
	cIdle
	cIowait
	cIrq
	cSoftirq
	cSteal
	cGuest
	cGuestNice
	cColumns
)

// cpuTimes is one cpu line of /proc/stat.
type cpuTimes [cColumns]uint64

// cpuSample is a cpu line with its name: "cpu-total" for the aggregate
// line, "cpu0", "cpu1", ... for cores.
type cpuSample struct {
	name  string
	times cpuTimes
}

// procStat is what the plugin reads from /proc/stat.
type procStat struct {
	total    *cpuSample  // the aggregate "cpu" line, if present
	cores    []cpuSample // the "cpuN" lines
	bootTime int64       // btime, seconds since the epoch; 0 if absent
}

// parseStat parses /proc/stat. Unknown lines are ignored; a cpu line with
// fewer than four columns or a non-numeric column is an error.
func parseStat(data []byte) (procStat, error) {
	var st procStat
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch {
		case f[0] == "btime" && len(f) >= 2:
			v, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return procStat{}, fmt.Errorf("parsing btime %q: %w", f[1], err)
			}
			st.bootTime = v
		case strings.HasPrefix(f[0], "cpu"):
			if len(f) < 5 {
				return procStat{}, fmt.Errorf("parsing %s line: %d columns, want at least 4", f[0], len(f)-1)
			}
			var s cpuSample
			for i := 0; i < cColumns && i+1 < len(f); i++ {
				v, err := strconv.ParseUint(f[i+1], 10, 64)
				if err != nil {
					return procStat{}, fmt.Errorf("parsing %s column %d: %w", f[0], i+1, err)
				}
				s.times[i] = v
			}
			if f[0] == "cpu" {
				s.name = "cpu-total"
				st.total = &s
			} else {
				s.name = f[0]
				st.cores = append(st.cores, s)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return procStat{}, fmt.Errorf("reading lines: %w", err)
	}
	return st, nil
}

func readStat(root string) (procStat, error) {
	p := filepath.Join(root, "stat")
	data, err := os.ReadFile(p)
	if err != nil {
		return procStat{}, fmt.Errorf("reading cpu times: %w", err)
	}
	st, err := parseStat(data)
	if err != nil {
		return procStat{}, fmt.Errorf("parsing %s: %w", p, err)
	}
	return st, nil
}

// cpuFields are the fields of measurement cpu, in the order cpuUsage
// returns them.
var cpuFields = []string{
	"usage_user", "usage_system", "usage_idle", "usage_iowait", "usage_irq", "usage_softirq",
	"usage_steal", "usage_nice", "usage_guest", "usage_guest_nice", "usage_active",
}

// cpuUsage returns the percentages of time spent in each state between two
// samples, in cpuFields order. It reports false when a counter went
// backwards (a core went offline and back, a hypervisor hiccup) or no time
// passed: there is no meaningful percentage then.
//
// As the kernel counts guest time in user (and guest_nice in nice), those
// are subtracted from user and nice and the total leaves them out, as
// telegraf does; usage_active is everything but idle.
func cpuUsage(prev, cur cpuTimes) ([]float64, bool) {
	var d cpuTimes
	for i := range cur {
		if cur[i] < prev[i] {
			return nil, false
		}
		d[i] = cur[i] - prev[i]
	}
	total := d[cUser] + d[cNice] + d[cSystem] + d[cIdle] + d[cIowait] + d[cIrq] + d[cSoftirq] + d[cSteal]
	if total == 0 {
		return nil, false
	}
	pct := func(v uint64) float64 { return 100 * float64(v) / float64(total) }
	sub := func(a, b uint64) uint64 {
		if b > a {
			return 0
		}
		return a - b
	}
	return []float64{
		pct(sub(d[cUser], d[cGuest])),
		pct(d[cSystem]),
		pct(d[cIdle]),
		pct(d[cIowait]),
		pct(d[cIrq]),
		pct(d[cSoftirq]),
		pct(d[cSteal]),
		pct(sub(d[cNice], d[cGuestNice])),
		pct(d[cGuest]),
		pct(d[cGuestNice]),
		pct(total - d[cIdle]),
	}, true
}

// cpuCollector reports CPU usage. It keeps the previous sample of each
// core, so an instance's first Gather reports usage since boot and later
// ones usage since the previous Gather.
type cpuCollector struct {
	root    string
	perCore bool
	total   bool
	prev    map[string]cpuTimes
}

var _ sdk.Gatherer = (*cpuCollector)(nil)

func newCPU(cfg sdk.Config) (sdk.Gatherer, error) {
	root, err := procRoot(cfg)
	if err != nil {
		return nil, err
	}
	c := &cpuCollector{root: root, perCore: cfg.Bool("cpu_per_core"), total: cfg.Bool("cpu_total"), prev: map[string]cpuTimes{}}
	if !c.perCore && !c.total {
		return nil, sdk.AttributeError("cpu_total", "Nothing to collect",
			"cpu_per_core and cpu_total are both false; set at least one of them to true")
	}
	return c, nil
}

func (c *cpuCollector) Gather(ctx context.Context, acc *sdk.Accumulator) error {
	if err := ctx.Err(); err != nil {
		return interrupted("cpu", err)
	}
	st, err := readStat(c.root)
	if err != nil {
		return err
	}
	samples := make([]cpuSample, 0, len(st.cores)+1)
	if c.total && st.total != nil {
		samples = append(samples, *st.total)
	}
	if c.perCore {
		samples = append(samples, st.cores...)
	}
	next := make(map[string]cpuTimes, len(samples))
	for _, s := range samples {
		next[s.name] = s.times
		values, ok := cpuUsage(c.prev[s.name], s.times)
		if !ok {
			continue
		}
		acc.Series("cpu", map[string]string{"cpu": s.name}, cpuFields...).Add(acc.Time(), values...)
	}
	c.prev = next
	return nil
}
