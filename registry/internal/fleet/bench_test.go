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
func BenchmarkObserve(b *testing.B) {
	const batch, series = 5000, 14
	tags := make([][]metrics.Tag, series)
	for s := range tags {
		tags[s] = []metrics.Tag{{Key: "cpu", Value: fmt.Sprintf("cpu%d", s)}, {Key: "host", Value: "web-01.example.com"},
			{Key: "node", Value: "web-01"}, {Key: "plugin", Value: "system"}}
	}
	pts := make([]metrics.Point, batch)
	for i := range pts {
		pts[i] = metrics.Point{Measurement: "cpu", Tags: tags[i%series], Time: int64(i / series), Fields: []metrics.Field{
			{Key: "usage_user", Value: metrics.Value{Kind: metrics.Float, F: float64(i)}},
			{Key: "usage_system", Value: metrics.Value{Kind: metrics.Float, F: 1}},
			{Key: "processes", Value: metrics.Value{Kind: metrics.Int, I: int64(i)}},
		}}
	}
	tr := New(&recorder{})
	b.ReportAllocs()
	for b.Loop() {
		tr.Observe(pts)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/point")
}
