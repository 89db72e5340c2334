package main

import (
	"math"
	"runtime"
	"testing"

	"github.com/vigilmon/vigil/sdk"
	"github.com/vigilmon/vigil/sdk/metric"
)

// TestLive gathers every collector from this machine's /proc and checks
// that the points are well formed: the documented measurement and tags,
// and no negative or non-finite value.
func TestLive(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the system plugin reads Linux's /proc")
	}
	tests := []struct {
		collector   string
		measurement string
		tag         string // a tag every point carries, if any
		mustReport  bool   // every Linux machine has something to report
	}{
		{"cpu", "cpu", "cpu", true},
		{"memory", "mem", "", true},
		{"swap", "swap", "", true},
		{"disk", "disk", "path", false},
		{"diskio", "diskio", "name", false},
		{"net", "net", "interface", false},
		{"load", "system", "", true},
		{"system", "system", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.collector, func(t *testing.T) {
			pts, err := gather(t, mustCollector(t, tt.collector, nil))
			if err != nil {
				t.Logf("accumulated errors (tolerated on a live system): %v", err)
			}
			if tt.mustReport && len(pts) == 0 {
				t.Fatal("no point")
			}
			for _, p := range pts {
				checkLivePoint(t, p, tt.measurement, tt.tag)
			}
		})
	}
}

func checkLivePoint(t *testing.T, p metric.Point, measurement, tag string) {
	t.Helper()
	if p.Measurement != measurement {
		t.Errorf("measurement %q, want %q", p.Measurement, measurement)
	}
	if tag != "" && p.Tags[tag] == "" {
		t.Errorf("%s point %v has no %s tag", measurement, p.Tags, tag)
	}
	if len(p.Fields) == 0 {
		t.Errorf("%s point %v has no field", measurement, p.Tags)
	}
	for k, v := range p.Fields {
		switch x := v.(type) {
		case int64:
			if x < 0 {
				t.Errorf("%s %v: %s = %d < 0", measurement, p.Tags, k, x)
			}
		case float64:
			if x < 0 || math.IsNaN(x) || math.IsInf(x, 0) {
				t.Errorf("%s %v: %s = %v", measurement, p.Tags, k, x)
			}
		default:
			t.Errorf("%s %v: %s has type %T, want int64 or float64", measurement, p.Tags, k, v)
		}
	}
}

// BenchmarkLive measures one Gather of each collector on this machine.
func BenchmarkLive(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("the system plugin reads Linux's /proc")
	}
	for _, c := range newManifest().Collectors {
		b.Run(c.Name, func(b *testing.B) {
			g, err := c.New(c.Schema.WithDefaults(sdk.NewConfig(nil)))
			if err != nil {
				b.Fatal(err)
			}
			acc := sdk.NewAccumulator(0, testTime, func(*metric.Batch) error { return nil })
			b.ReportAllocs()
			for b.Loop() {
				if err := g.Gather(b.Context(), acc); err != nil {
					b.Fatal(err)
				}
				if err := acc.Flush(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
