package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vigilmon/vigil/sdk/metric"
)

// testdata/proc/meminfo: total 8000000 kB, free 2000000, buffers 500000,
// cached 2000000 + reclaimable slab 500000, available 5000000; swap
// 2000000 kB of which 1500000 free. testdata/proc/vmstat: 1000 pages in,
// 2000 out.
func TestMemory(t *testing.T) {
	const kB = 1024
	pts, err := gather(t, mustCollector(t, "memory", map[string]any{"proc_root": "testdata/proc"}))
	if err != nil {
		t.Fatal(err)
	}
	diffPoints(t, []metric.Point{point("mem", nil, map[string]any{
		"total":             int64(8000000 * kB),
		"available":         int64(5000000 * kB),
		"used":              int64(3000000 * kB),
		"free":              int64(2000000 * kB),
		"buffers":           int64(500000 * kB),
		"cached":            int64(2500000 * kB),
		"used_percent":      37.5,
		"available_percent": 62.5,
	})}, pts)
}

func TestMemFieldsWithoutMemAvailable(t *testing.T) {
	got, err := memFields(map[string]uint64{"MemTotal": 1000, "MemFree": 100, "Buffers": 200, "Cached": 300})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"total": int64(1000), "available": int64(600), "used": int64(400), "free": int64(100),
		"buffers": int64(200), "cached": int64(300), "used_percent": 40.0, "available_percent": 60.0,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("fields mismatch (-want +got):\n%s", d)
	}
	if _, err := memFields(map[string]uint64{"MemFree": 1}); err == nil {
		t.Error("memFields without MemTotal succeeded, want an error")
	}
}

func TestSwap(t *testing.T) {
	const kB = 1024
	g := mustCollector(t, "swap", map[string]any{"proc_root": "testdata/proc"})
	g.(*swapCollector).pageSize = 4096
	pts, err := gather(t, g)
	if err != nil {
		t.Fatal(err)
	}
	diffPoints(t, []metric.Point{point("swap", nil, map[string]any{
		"total":        int64(2000000 * kB),
		"free":         int64(1500000 * kB),
		"used":         int64(500000 * kB),
		"used_percent": 25.0,
		"in":           int64(1000 * 4096),
		"out":          int64(2000 * 4096),
	})}, pts)
}

func TestSwapWithoutSwap(t *testing.T) {
	got := swapFields(map[string]uint64{"SwapTotal": 0, "SwapFree": 0}, nil, 4096)
	want := map[string]any{"total": int64(0), "free": int64(0), "used": int64(0), "used_percent": 0.0}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("fields mismatch (-want +got):\n%s", d)
	}
}

func TestParseKV(t *testing.T) {
	got := parseKV([]byte("MemTotal:  10 kB\nHugePages_Total:   3\nbroken\nnr_free_pages 7\nOdd: x kB\n"))
	want := map[string]uint64{"MemTotal": 10240, "HugePages_Total": 3, "nr_free_pages": 7}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("parseKV mismatch (-want +got):\n%s", d)
	}
}
