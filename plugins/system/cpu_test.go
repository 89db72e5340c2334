package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vigilmon/vigil/sdk"
	"github.com/vigilmon/vigil/sdk/metric"
)

// cpuPoint builds a cpu point from percentages in cpuFields order.
func cpuPoint(cpu string, user, system, idle, iowait, irq, softirq, steal, nice, guest, guestNice, active float64) metric.Point {
	return point("cpu", map[string]string{"cpu": cpu}, map[string]any{
		"usage_user": user, "usage_system": system, "usage_idle": idle, "usage_iowait": iowait,
		"usage_irq": irq, "usage_softirq": softirq, "usage_steal": steal, "usage_nice": nice,
		"usage_guest": guest, "usage_guest_nice": guestNice, "usage_active": active,
	})
}

// The expected percentages are computed by hand from testdata/proc/stat
// (since boot: totals of 10000 ticks per core, 20000 for cpu-total) and
// testdata/proc2/stat (deltas of 1000 ticks for cpu0 and 2000 for
// cpu-total; cpu1's idle went backwards, so cpu1 is skipped).
func TestCPUDeltas(t *testing.T) {
	g := mustCollector(t, "cpu", map[string]any{"proc_root": "testdata/proc"})

	first, err := gather(t, g)
	if err != nil {
		t.Fatal(err)
	}
	//                          user  sys   idle  iow  irq   sirq  steal nice guest gnice active
	diffPoints(t, []metric.Point{
		cpuPoint("cpu-total", 12.5, 7.5, 72.5, 2.5, 0.75, 0.75, 0.5, 0.5, 2.5, 0, 27.5),
		cpuPoint("cpu0", 10, 5, 80, 2, 0.5, 0.5, 1, 1, 0, 0, 20),
		cpuPoint("cpu1", 15, 10, 65, 3, 1, 1, 0, 0, 5, 0, 35),
	}, first)

	g.(*cpuCollector).root = "testdata/proc2"
	second, err := gather(t, g)
	if err != nil {
		t.Fatal(err)
	}
	diffPoints(t, []metric.Point{
		cpuPoint("cpu-total", 25, 10, 50, 5, 0, 2.5, 2.5, 0, 5, 0, 50),
		cpuPoint("cpu0", 30, 10, 50, 5, 0, 2.5, 2.5, 0, 0, 0, 50),
	}, second)

	// No tick passed since the previous sample: nothing to report.
	third, err := gather(t, g)
	if err != nil {
		t.Fatal(err)
	}
	diffPoints(t, nil, third)
}

func TestCPUSelection(t *testing.T) {
	tests := []struct {
		name     string
		perCore  bool
		total    bool
		wantCPUs []string
	}{
		{"total only", false, true, []string{"cpu-total"}},
		{"cores only", true, false, []string{"cpu0", "cpu1"}},
		{"both", true, true, []string{"cpu-total", "cpu0", "cpu1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := mustCollector(t, "cpu", map[string]any{"proc_root": "testdata/proc", "cpu_per_core": tt.perCore, "cpu_total": tt.total})
			pts, err := gather(t, g)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range pts {
				got = append(got, p.Tags["cpu"])
			}
			if d := cmp.Diff(tt.wantCPUs, got); d != "" {
				t.Errorf("cpu tags mismatch (-want +got):\n%s", d)
			}
		})
	}
}

func TestCPUConfigErrors(t *testing.T) {
	tests := []struct {
		name   string
		values map[string]any
		path   string
	}{
		{"nothing selected", map[string]any{"cpu_per_core": false, "cpu_total": false}, "cpu_total"},
		{"empty proc_root", map[string]any{"proc_root": ""}, "proc_root"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newCollector(t, "cpu", tt.values)
			assertAttrError(t, err, tt.path)
		})
	}
}

func TestParseStatErrors(t *testing.T) {
	for name, in := range map[string]string{
		"too few columns": "cpu 1 2 3\n",
		"not a number":    "cpu0 1 2 x 4\n",
		"bad btime":       "btime soon\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := parseStat([]byte(in)); err == nil {
				t.Errorf("parseStat(%q) succeeded, want an error", in)
			}
		})
	}
}

// assertAttrError checks that err is a diagnostic about attribute path.
func assertAttrError(t *testing.T, err error, path string) {
	t.Helper()
	d := sdk.AsDiagnostics(err)
	if len(d) == 0 {
		t.Fatalf("got no error, want a diagnostic about %s", path)
	}
	if len(d[0].Path) == 0 || d[0].Path[0] != path {
		t.Fatalf("diagnostic path = %v (%v), want [%s ...]", d[0].Path, err, path)
	}
}
