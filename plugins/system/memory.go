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

// parseKV parses the "key: value [kB]" lines of /proc/meminfo and the
// "key value" lines of /proc/vmstat. Values with a kB unit are returned in
// bytes. Lines that do not parse are skipped: these files grow new keys
// with every kernel, and one odd line must not hide the others.
func parseKV(data []byte) map[string]uint64 {
	out := make(map[string]uint64, 64)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			continue
		}
		if len(f) >= 3 && f[2] == "kB" {
			v *= 1024
		}
		out[strings.TrimSuffix(f[0], ":")] = v
	}
	return out
}

func readKV(root, name string) (map[string]uint64, error) {
	data, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return parseKV(data), nil
}

func percent(part, whole uint64) float64 {
	if whole == 0 {
		return 0
	}
	return 100 * float64(part) / float64(whole)
}

// sat returns a-b, or 0 when b > a.
func sat(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}

// memCollector reports memory usage (measurement mem).
type memCollector struct{ root string }

var _ sdk.Gatherer = (*memCollector)(nil)

func newMemory(cfg sdk.Config) (sdk.Gatherer, error) {
	root, err := procRoot(cfg)
	if err != nil {
		return nil, err
	}
	return &memCollector{root: root}, nil
}

// memFields computes the fields of mem from /proc/meminfo. cached counts
// the page cache and reclaimable slab, as free(1) does; used is what is
// neither free nor buffers nor cache. When MemAvailable is missing (kernels
// before 3.14) available is free + buffers + cached.
func memFields(mi map[string]uint64) (map[string]any, error) {
	total, ok := mi["MemTotal"]
	if !ok {
		return nil, fmt.Errorf("meminfo has no MemTotal")
	}
	free, buffers := mi["MemFree"], mi["Buffers"]
	cached := mi["Cached"] + mi["SReclaimable"]
	available, ok := mi["MemAvailable"]
	if !ok {
		available = free + buffers + cached
	}
	used := sat(total, free+buffers+cached)
	return map[string]any{
		"total":             int64(total),
		"available":         int64(available),
		"used":              int64(used),
		"free":              int64(free),
		"buffers":           int64(buffers),
		"cached":            int64(cached),
		"used_percent":      percent(used, total),
		"available_percent": percent(available, total),
	}, nil
}

func (c *memCollector) Gather(ctx context.Context, acc *sdk.Accumulator) error {
	if err := ctx.Err(); err != nil {
		return interrupted("memory", err)
	}
	mi, err := readKV(c.root, "meminfo")
	if err != nil {
		return err
	}
	fields, err := memFields(mi)
	if err != nil {
		return fmt.Errorf("reading memory usage: %w", err)
	}
	acc.AddFields("mem", nil, fields, acc.Time())
	return nil
}

// swapCollector reports swap usage and traffic (measurement swap).
type swapCollector struct {
	root     string
	pageSize uint64 // the unit of pswpin and pswpout
}

var _ sdk.Gatherer = (*swapCollector)(nil)

func newSwap(cfg sdk.Config) (sdk.Gatherer, error) {
	root, err := procRoot(cfg)
	if err != nil {
		return nil, err
	}
	return &swapCollector{root: root, pageSize: uint64(os.Getpagesize())}, nil
}

// swapFields computes the fields of swap. in and out are cumulative bytes
// (pages swapped in and out since boot times the page size), as telegraf
// reports them.
func swapFields(mi, vm map[string]uint64, pageSize uint64) map[string]any {
	total, free := mi["SwapTotal"], mi["SwapFree"]
	used := sat(total, free)
	f := map[string]any{
		"total":        int64(total),
		"free":         int64(free),
		"used":         int64(used),
		"used_percent": percent(used, total),
	}
	if v, ok := vm["pswpin"]; ok {
		f["in"] = int64(v * pageSize)
	}
	if v, ok := vm["pswpout"]; ok {
		f["out"] = int64(v * pageSize)
	}
	return f
}

func (c *swapCollector) Gather(ctx context.Context, acc *sdk.Accumulator) error {
	if err := ctx.Err(); err != nil {
		return interrupted("swap", err)
	}
	mi, err := readKV(c.root, "meminfo")
	if err != nil {
		return err
	}
	vm, err := readKV(c.root, "vmstat")
	if err != nil {
		// Swap usage is still worth reporting without the traffic.
		acc.AddError(err)
	}
	acc.AddFields("swap", nil, swapFields(mi, vm, c.pageSize), acc.Time())
	return nil
}
