package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// fakeInflux answers /debug/vars with writes() points written into
// "vigil" and count queries with count() points.
func fakeInflux(writes, count func() int64) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/debug/vars":
			fmt.Fprintf(w, `{"shard:1": {"name": "shard", "tags": {"database": "vigil"}, "values": {"writePointsOk": %d}}}`, writes())
		case "/query":
			fmt.Fprintf(w, `{"results":[{"series":[{"name":"cpu","columns":["time","count"],"values":[[0,%d]]}]}]}`, count())
		default:
			http.NotFound(w, r)
		}
	}))
}

func TestWaitLanded(t *testing.T) {
	for _, tc := range []struct {
		name         string
		writes       []int64 // answered in turn, the last one from then on
		count        int64
		timeout      time.Duration
		wantPoints   int64
		wantComplete bool
	}{
		{name: "landed after a few polls", writes: []int64{0, 500, 1001}, count: 1000, timeout: time.Minute, wantPoints: 1000, wantComplete: true},
		{name: "the probe not yet written", writes: []int64{1000}, count: 1000, timeout: 50 * time.Millisecond, wantPoints: 1000, wantComplete: true},
		{name: "overwrites: written but not all there", writes: []int64{1001}, count: 900, timeout: 50 * time.Millisecond, wantPoints: 900},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int64
			srv := fakeInflux(func() int64 {
				i := min(int(calls.Add(1)-1), len(tc.writes)-1)
				return tc.writes[i]
			}, func() int64 { return tc.count })
			defer srv.Close()
			start := time.Now().Add(-time.Second)
			l := waitLanded(context.Background(), srv.Client(), srv.URL, "vigil", 1000, 1, start, tc.timeout)
			if l.Points != tc.wantPoints || l.Complete != tc.wantComplete {
				t.Errorf("landed %d points (complete %v), want %d (complete %v)", l.Points, l.Complete, tc.wantPoints, tc.wantComplete)
			}
			if l.Seconds < 1 || l.Rate != float64(l.Points)/l.Seconds {
				t.Errorf("%.3fs at %.0f points/s for %d points: not measured from the start", l.Seconds, l.Rate, l.Points)
			}
			if got := calls.Load(); tc.wantComplete && tc.timeout == time.Minute && got != int64(len(tc.writes)) {
				t.Errorf("%d polls of /debug/vars, want %d", got, len(tc.writes))
			}
		})
	}
}
