package ingest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/registry/internal/metrics"
	"github.com/vigilmon/vigil/registry/internal/metrics/embedded"
)

// TestEmbeddedBackend writes through ingest into the real embedded metrics
// store and reads the points back with its Query.
func TestEmbeddedBackend(t *testing.T) {
	ms, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ms.Close() })
	f := newFixture(t, Config{Metrics: ms})
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	s := func(d time.Duration) int64 { return t0.Add(d).Unix() }
	body := fmt.Sprintf("cpu,cpu=cpu0 usage=1.5 %d\ncpu,cpu=cpu0 usage=2.5 %d\ncpu,cpu=cpu1 usage=9 %d\nbad\n",
		s(0), s(time.Second), s(0))
	resp := f.do(request{method: "POST", path: "/v1/write?precision=s", who: "agent", body: []byte(body), gzip: true,
		header: map[string]string{BatchIDHeader: "one"}})
	if resp.status != 400 {
		t.Fatalf("write: %d %s, want a partial write", resp.status, resp.body)
	}
	telegraf := fmt.Sprintf("cpu,cpu=cpu0 usage=3.5 %d\n", t0.Add(2*time.Second).UnixNano())
	if resp := f.do(request{method: "POST", path: "/write?db=telegraf", who: "agent", auth: "basic", body: []byte(telegraf), gzip: true}); resp.status != 204 {
		t.Fatalf("telegraf write: %d %s", resp.status, resp.body)
	}
	// The replay of the first batch adds nothing.
	resp = f.do(request{method: "POST", path: "/v1/write?precision=s", who: "agent", body: []byte(body), gzip: true,
		header: map[string]string{BatchIDHeader: "one"}})
	if resp.status != 204 || resp.header.Get(ReplayHeader) != "true" {
		t.Fatalf("replay: %d %s", resp.status, resp.body)
	}
	got, err := ms.Query(context.Background(), metrics.Query{
		Node: "web-1", Measurement: "cpu", Field: "usage", From: t0.Add(-time.Minute), To: t0.Add(time.Minute),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []metrics.Series{{
		Measurement: "cpu", Field: "usage", Tags: map[string]string{"cpu": "cpu0", "node": "web-1"},
		Samples: []metrics.Sample{{Time: t0, Value: 1.5}, {Time: t0.Add(time.Second), Value: 2.5}, {Time: t0.Add(2 * time.Second), Value: 3.5}},
	}, {
		Measurement: "cpu", Field: "usage", Tags: map[string]string{"cpu": "cpu1", "node": "web-1"},
		Samples: []metrics.Sample{{Time: t0, Value: 9}},
	}}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("query (-want +got):\n%s", diff)
	}
}
