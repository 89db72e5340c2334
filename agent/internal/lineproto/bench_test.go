package lineproto

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/vigilmon/vigil/sdk/metric"
)

// benchBatch is points points of series series, each with 3 tags and 2
// float fields, as the accumulator's fast path builds them.
func benchBatch(points, series int) *metric.Batch {
	b := &metric.Batch{}
	for i := range series {
		b.Series = append(b.Series, metric.Series{
			Measurement: "cpu",
			Tags:        []metric.Tag{{Key: "cpu", Value: fmt.Sprintf("cpu%d", i)}, {Key: "host", Value: "web-1.example.net"}, {Key: "region", Value: "eu-west"}},
			Fields:      []metric.Field{{Key: "usage_user", Type: metric.Float}, {Key: "usage_system", Type: metric.Float}},
		})
	}
	r := rand.New(rand.NewPCG(1, 1))
	t0 := int64(1_700_000_000_000_000_000)
	for i := range points {
		b.PointSeries = append(b.PointSeries, uint32(i%series))
		b.Times = append(b.Times, t0+int64(i/series)*10_000_000_000)
		b.Floats = append(b.Floats, float64(r.IntN(10000))/100, r.Float64()*100)
	}
	return b
}

func reportPoints(b *testing.B, perOp int) {
	points := float64(b.N) * float64(perOp)
	b.ReportMetric(points/b.Elapsed().Seconds(), "points/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/points, "ns/point")
}

// BenchmarkEncode encodes 10k-point batches (3 tags + 2 floats, 50 series).
func BenchmarkEncode(b *testing.B) {
	batch := benchBatch(10000, 50)
	enc := NewEncoder("node-1", map[string]string{"site": "paris", "role": "web"})
	buf, _, _ := enc.Append(nil, "system", batch)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf, _, _ = enc.Append(buf[:0], "system", batch)
	}
	reportPoints(b, batch.Len())
}

// BenchmarkReferenceEncoder is the baseline: the library encoder called
// per point, with the same tags already merged and sorted per series.
func BenchmarkReferenceEncoder(b *testing.B) {
	batch := benchBatch(10000, 50)
	tags := make([][]metric.Tag, len(batch.Series))
	for i, s := range batch.Series {
		m := mergedTags("node-1", map[string]string{"site": "paris", "role": "web"}, "system", s.Tags)
		for _, k := range sortedKeys(m) {
			tags[i] = append(tags[i], metric.Tag{Key: k, Value: m[k]})
		}
	}
	var enc lineprotocolEncoder
	b.ReportAllocs()
	for b.Loop() {
		enc.encode(batch, tags)
	}
	reportPoints(b, batch.Len())
}
