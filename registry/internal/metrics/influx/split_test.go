package influx

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/registry/internal/metrics"
)

// TestSplit: the forwarder cuts a record at line ends, never inside a
// string field that holds a newline (a check's message often does).
func TestSplit(t *testing.T) {
	multi := metrics.Point{Measurement: "promise", Tags: []metrics.Tag{{Key: "node", Value: "n\"1"}}, Time: 2,
		Fields: []metrics.Field{{Key: "message", Value: metrics.Value{Kind: metrics.String, S: "CRITICAL\n\"disk\" full\\\nsee log"}}}}
	plain := metrics.Point{Measurement: "cpu", Tags: []metrics.Tag{{Key: "node", Value: "n1"}}, Time: 1,
		Fields: []metrics.Field{{Key: "v", Value: metrics.Value{Kind: metrics.Float, F: 1}}}}
	odd := metrics.Point{Measurement: "odd\"m", Tags: []metrics.Tag{{Key: "k", Value: "a=\"b"}}, Time: 3,
		Fields: []metrics.Field{{Key: "f\"", Value: metrics.Value{Kind: metrics.Int, I: 1}}}}
	var lines []string
	var data []byte
	for _, p := range []metrics.Point{plain, multi, odd, multi, plain} {
		b, e := appendPoints(nil, []metrics.Point{p})
		if e.points != 1 {
			t.Fatalf("encoding %v: %+v", p, e)
		}
		lines = append(lines, string(b))
		data = append(data, b...)
	}
	for n := 1; n <= 6; n++ {
		var got []string
		total := 0
		for _, c := range split(data, n) {
			if c.points > n {
				t.Errorf("n=%d: a chunk of %d lines", n, c.points)
			}
			total += c.points
			for _, l := range split(c.data, 1) {
				got = append(got, string(l.data))
			}
		}
		if total != len(lines) {
			t.Errorf("n=%d: %d lines counted, want %d", n, total, len(lines))
		}
		if diff := cmp.Diff(lines, got); diff != "" {
			t.Errorf("n=%d: lines (-want +got):\n%s", n, diff)
		}
	}
}
