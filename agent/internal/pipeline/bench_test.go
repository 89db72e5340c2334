package pipeline

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vigilmon/vigil/sdk/metric"
)

type discard struct{}

func (discard) Name() string                             { return "discard" }
func (discard) Write(context.Context, []byte, int) error { return nil }

// BenchmarkPipelineThroughput writes 10k-point batches (3 tags + 2 floats,
// 50 series) through Write into an output that discards them.
func BenchmarkPipelineThroughput(b *testing.B) {
	batch := &metric.Batch{}
	for i := range 50 {
		batch.Series = append(batch.Series, metric.Series{
			Measurement: "cpu",
			Tags:        []metric.Tag{{Key: "cpu", Value: fmt.Sprintf("cpu%d", i)}, {Key: "host", Value: "web-1.example.net"}, {Key: "region", Value: "eu-west"}},
			Fields:      []metric.Field{{Key: "usage_user", Type: metric.Float}, {Key: "usage_system", Type: metric.Float}},
		})
	}
	r := rand.New(rand.NewPCG(1, 1))
	for i := range 10000 {
		batch.PointSeries = append(batch.PointSeries, uint32(i%50))
		batch.Times = append(batch.Times, 1_700_000_000_000_000_000+int64(i/50)*10_000_000_000)
		batch.Floats = append(batch.Floats, float64(r.IntN(10000))/100, r.Float64()*100)
	}
	p := New(Config{Node: "node-1", Tags: map[string]string{"site": "paris"}, FlushInterval: time.Second}, nil, discard{})
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Write("system", batch); err != nil {
			b.Fatal(err)
		}
	}
	if err := p.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	points := float64(b.N) * float64(batch.Len())
	b.ReportMetric(points/b.Elapsed().Seconds(), "points/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/points, "ns/point")
	p.Close(context.Background())
}
