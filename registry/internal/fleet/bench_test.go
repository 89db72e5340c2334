package fleet

import (
	"fmt"
	"testing"

	"github.com/vigilmon/vigil/registry/internal/metrics"
)

// BenchmarkObserve is the tracker's share of ingesting an agent's batch:
// 5,000 points of 14 series (an 8-core node's cpu, mem and disk series),
// each with 3 fields, every series seen again at each interval.
//
//	go test -run '^$' -bench Observe -count 3 ./registry/internal/fleet/
//
// fields=11 gives each point the 11 fields of plugins/system's cpu.
func BenchmarkObserve(b *testing.B) {
	for _, nf := range []int{3, 11} {
		b.Run(fmt.Sprintf("fields=%d", nf), func(b *testing.B) { benchmarkObserve(b, nf) })
	}
}

func benchmarkObserve(b *testing.B, nf int) {
	const batch, series = 5000, 14
	tags := make([][]metrics.Tag, series)
	for s := range tags {
		tags[s] = []metrics.Tag{{Key: "cpu", Value: fmt.Sprintf("cpu%d", s)}, {Key: "host", Value: "web-01.example.com"},
			{Key: "node", Value: "web-01"}, {Key: "plugin", Value: "system"}}
	}
	keys := []string{"usage_user", "usage_system", "processes"}
	if nf == 11 {
		keys = []string{"usage_user", "usage_system", "usage_idle", "usage_iowait", "usage_irq", "usage_softirq",
			"usage_steal", "usage_nice", "usage_guest", "usage_guest_nice", "usage_active"}
	}
	pts := make([]metrics.Point, batch)
	for i := range pts {
		fs := make([]metrics.Field, len(keys))
		for k, key := range keys {
			fs[k] = metrics.Field{Key: key, Value: metrics.Value{Kind: metrics.Float, F: float64(i + k)}}
		}
		pts[i] = metrics.Point{Measurement: "cpu", Tags: tags[i%series], Time: int64(i / series), Fields: fs}
	}
	tr := New(&recorder{})
	b.ReportAllocs()
	for b.Loop() {
		tr.Observe(pts)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/point")
}
