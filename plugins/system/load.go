package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vigilmon/vigil/sdk"
)

// loadavg is /proc/loadavg: "0.50 1.25 2.00 3/456 12345".
type loadavg struct {
	load1, load5, load15 float64
	running, total       int64
}

func parseLoadavg(data []byte) (loadavg, error) {
	f := strings.Fields(string(data))
	if len(f) < 4 {
		return loadavg{}, fmt.Errorf("%d fields, want at least 4", len(f))
	}
	var l loadavg
	var err error
	for i, dst := range []*float64{&l.load1, &l.load5, &l.load15} {
		if *dst, err = strconv.ParseFloat(f[i], 64); err != nil {
			return loadavg{}, fmt.Errorf("parsing load average %q: %w", f[i], err)
		}
	}
	run, tot, ok := strings.Cut(f[3], "/")
	if !ok {
		return loadavg{}, fmt.Errorf("parsing process counts %q: want running/total", f[3])
	}
	if l.running, err = strconv.ParseInt(run, 10, 64); err != nil {
		return loadavg{}, fmt.Errorf("parsing running processes: %w", err)
	}
	if l.total, err = strconv.ParseInt(tot, 10, 64); err != nil {
		return loadavg{}, fmt.Errorf("parsing total processes: %w", err)
	}
	return l, nil
}

// loadCollector reports load averages into measurement system, as
// telegraf's system input does, so dashboards built for it work.
type loadCollector struct{ root string }

var _ sdk.Gatherer = (*loadCollector)(nil)

func newLoad(cfg sdk.Config) (sdk.Gatherer, error) {
	root, err := procRoot(cfg)
	if err != nil {
		return nil, err
	}
	return &loadCollector{root: root}, nil
}

func (c *loadCollector) Gather(ctx context.Context, acc *sdk.Accumulator) error {
	if err := ctx.Err(); err != nil {
		return interrupted("load", err)
	}
	p := filepath.Join(c.root, "loadavg")
	data, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("reading load average: %w", err)
	}
	l, err := parseLoadavg(data)
	if err != nil {
		return fmt.Errorf("parsing %s: %w", p, err)
	}
	fields := map[string]any{
		"load1":         l.load1,
		"load5":         l.load5,
		"load15":        l.load15,
		"procs_running": l.running,
		"procs_total":   l.total,
	}
	st, err := readStat(c.root)
	if err != nil {
		acc.AddError(err)
	} else {
		fields["n_cpus"] = int64(len(st.cores))
	}
	acc.AddFields("system", nil, fields, acc.Time())
	return nil
}
