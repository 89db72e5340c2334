package pipeline

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigilmon/vigil/sdk/metric"
)

type discard struct{}

func (discard) Name() string                             { return "discard" }
func (discard) Write(context.Context, []byte, int) error { return nil }

// benchBatch is 10,000 points of 50 series with 3 tags (plus node and
// plugin from the pipeline) and the given number of float fields (1-3).
func benchBatch(fields int) *metric.Batch {
	batch := &metric.Batch{}
	names := []string{"usage_user", "usage_system", "usage_idle"}[:fields]
	for i := range 50 {
		s := metric.Series{
			Measurement: "cpu",
			Tags:        []metric.Tag{{Key: "cpu", Value: fmt.Sprintf("cpu%d", i)}, {Key: "host", Value: "web-1.example.net"}, {Key: "region", Value: "eu-west"}},
		}
		for _, n := range names {
			s.Fields = append(s.Fields, metric.Field{Key: n, Type: metric.Float})
		}
		batch.Series = append(batch.Series, s)
	}
	r := rand.New(rand.NewPCG(1, 1))
	for i := range 10000 {
		batch.PointSeries = append(batch.PointSeries, uint32(i%50))
		batch.Times = append(batch.Times, 1_700_000_000_000_000_000+int64(i/50)*10_000_000_000)
		for range fields {
			batch.Floats = append(batch.Floats, float64(r.IntN(10000))/100)
		}
	}
	return batch
}

// BenchmarkPipelineThroughput writes 10k-point batches (3 tags + 2 floats,
// 50 series) through Write into an output that discards them.
func BenchmarkPipelineThroughput(b *testing.B) {
	batch := benchBatch(2)
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

// ingestServer is a registry that accepts at once: it gunzips each body
// and discards it, answering 204 (or status, if not 0).
func ingestServer(b *testing.B, status int) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		if _, err := io.Copy(io.Discard, body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if status != 0 {
			w.WriteHeader(status)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkShipRegistry ships 10,000-point batches (3 tags, 3 fields,
// gzip) to a registry that accepts at once: through a disk spool (an
// fsync per batch), and through the memory queue as the baseline. The
// writer keeps at most 4 batches ahead of the output, so points/s is what
// the output ships, not what a queue evicts.
func BenchmarkShipRegistry(b *testing.B) {
	batch := benchBatch(3)
	for _, queue := range []string{"memory", "spool"} {
		b.Run(queue, func(b *testing.B) {
			srv := ingestServer(b, 0)
			reg, err := Registry(RegistryConfig{URL: srv.URL, Token: "t", Gzip: true})
			if err != nil {
				b.Fatal(err)
			}
			var out Output = reg
			if queue == "spool" {
				so, err := Spooled(reg, SpoolConfig{Dir: b.TempDir()})
				if err != nil {
					b.Fatal(err)
				}
				out = so
			}
			p := New(Config{Node: "node-1", Tags: map[string]string{"site": "paris"}, FlushInterval: time.Hour}, nil, out)
			defer p.Close(context.Background())
			ahead := int64(4 * batch.Len())
			for b.Loop() {
				for p.Stats()["registry"].Queued > ahead {
					time.Sleep(100 * time.Microsecond)
				}
				if err := p.Write("system", batch); err != nil {
					b.Fatal(err)
				}
			}
			if err := p.Flush(context.Background()); err != nil {
				b.Fatal(err)
			}
			st := p.Stats()["registry"]
			if want := int64(b.N * batch.Len()); st.Sent != want {
				b.Fatalf("sent %d points of %d: %+v", st.Sent, want, st)
			}
			b.ReportMetric(float64(st.Sent)/b.Elapsed().Seconds(), "points/s")
		})
	}
}

// memory returns the live heap and the resident set size, after two GCs
// (the second empties the sync.Pools' victim caches).
func memory() (heap, rss uint64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 {
			pages, _ := strconv.ParseUint(f[1], 10, 64)
			rss = pages * uint64(os.Getpagesize())
		}
	}
	return ms.HeapInuse, rss
}

// BenchmarkSpoolIntakeRegistryDown writes 10,000-point batches while the
// registry answers 503: the points/s accepted into the spool (fsynced),
// with the heap and RSS before and after the backlog (-benchtime 400x is
// about 480 MB on disk).
func BenchmarkSpoolIntakeRegistryDown(b *testing.B) {
	batch := benchBatch(3)
	srv := ingestServer(b, http.StatusServiceUnavailable)
	reg, err := Registry(RegistryConfig{URL: srv.URL, Token: "t", Gzip: true})
	if err != nil {
		b.Fatal(err)
	}
	so, err := Spooled(reg, SpoolConfig{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	p := New(Config{Node: "node-1", Tags: map[string]string{"site": "paris"}, FlushInterval: time.Hour, RetryMin: 100 * time.Millisecond, RetryMax: time.Second}, nil, so)
	defer func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		p.Close(ctx)
	}()
	heap0, rss0 := memory()
	b.ResetTimer()
	for b.Loop() {
		if err := p.Write("system", batch); err != nil {
			b.Fatal(err)
		}
	}
	// Accepted means on disk: wait for the appender.
	for so.Spool().Records < int64(b.N) {
		time.Sleep(100 * time.Microsecond)
	}
	elapsed := b.Elapsed()
	b.StopTimer()
	heap1, rss1 := memory()
	b.ReportMetric(float64(b.N*batch.Len())/elapsed.Seconds(), "points/s")
	b.ReportMetric(float64(so.Spool().Bytes)/(1<<20), "backlog-MiB")
	b.ReportMetric(float64(heap0)/(1<<20), "heap-before-MiB")
	b.ReportMetric(float64(heap1)/(1<<20), "heap-after-MiB")
	b.ReportMetric(float64(rss0)/(1<<20), "rss-before-MiB")
	b.ReportMetric(float64(rss1)/(1<<20), "rss-after-MiB")
	if st := p.Stats()["registry"]; st.Sent != 0 || st.Dropped != 0 {
		b.Fatalf("stats %+v: the registry should take nothing and the spool drop nothing", st)
	}
}
