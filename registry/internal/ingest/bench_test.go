package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/influxdata/line-protocol/v2/lineprotocol"
	kgzip "github.com/klauspost/compress/gzip"

	"github.com/vigilmon/vigil/registry/internal/metrics"
	"github.com/vigilmon/vigil/registry/internal/metrics/embedded"
)

// benchPoints is the size of a benchmark batch, as an agent sends it.
const benchPoints = 5000

// benchBatch is a gzipped batch of realistic points: 3 tags, 2 floats,
// 1 int, nanosecond timestamps (~140 bytes a line).
func benchBatch(b *testing.B) []byte {
	b.Helper()
	var lp bytes.Buffer
	t0 := time.Now().Add(-time.Minute).Truncate(time.Second).UnixNano()
	for i := range benchPoints {
		fmt.Fprintf(&lp, "cpu,cpu=cpu%d,host=web-%d,region=eu-west-1 usage_user=%d.%03d,usage_system=%d.%03d,processes=%di %d\n",
			i%64, i/64%16, i%97, i%1000, i%13, i%997, 100+i%50, t0+int64(i)*int64(time.Millisecond))
	}
	var z bytes.Buffer
	zw, err := gzip.NewWriterLevel(&z, gzip.BestSpeed)
	if err != nil {
		b.Fatal(err)
	}
	zw.Write(lp.Bytes())
	zw.Close()
	return z.Bytes()
}

// discard is a metrics store that keeps nothing.
type discard struct{}

func (discard) Write(context.Context, []metrics.Point) error { return nil }

// reportPoints adds points/s and allocs/point to b's results.
func reportPoints(b *testing.B, start time.Time, mallocs0 uint64) {
	elapsed := time.Since(start)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	n := float64(b.N) * benchPoints
	b.ReportMetric(n/elapsed.Seconds(), "points/s")
	b.ReportMetric(float64(ms.Mallocs-mallocs0)/n, "allocs/point")
}

func startReport(b *testing.B) (time.Time, uint64) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ResetTimer()
	return time.Now(), ms.Mallocs
}

// BenchmarkGunzipDecode is the baseline: gunzip a batch and decode every
// field of every line, storing nothing.
func BenchmarkGunzipDecode(b *testing.B) {
	body := benchBatch(b)
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	start, m0 := startReport(b)
	for range b.N {
		zr.Reset(bytes.NewReader(body))
		buf.Reset()
		if _, err := buf.ReadFrom(zr); err != nil {
			b.Fatal(err)
		}
		dec := lineprotocol.NewDecoderWithBytes(buf.Bytes())
		n := 0
		for dec.Next() {
			if _, err := dec.Measurement(); err != nil {
				b.Fatal(err)
			}
			for {
				k, _, err := dec.NextTag()
				if err != nil {
					b.Fatal(err)
				}
				if k == nil {
					break
				}
			}
			for {
				k, _, err := dec.NextField()
				if err != nil {
					b.Fatal(err)
				}
				if k == nil {
					break
				}
			}
			if _, err := dec.Time(lineprotocol.Nanosecond, time.Time{}); err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != benchPoints {
			b.Fatalf("decoded %d points", n)
		}
	}
	reportPoints(b, start, m0)
}

// BenchmarkWrite posts gzip batches of 5,000 points through the handler
// (a real SQLite catalog: token lookup, batch id, node touched), one
// request at a time and from several goroutines at once, to a metrics
// store that discards them or to the embedded store.
func BenchmarkWrite(b *testing.B) {
	for _, tc := range []struct {
		name     string
		batchIDs bool
		parallel bool
		embedded bool
	}{
		{"discard/serial", true, false, false},
		{"discard/serial-no-batch-id", false, false, false},
		{"discard/parallel", true, true, false},
		{"embedded/serial", true, false, true},
		{"embedded/parallel", true, true, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			f := newFixture(b, Config{Logger: hclog.NewNullLogger()})
			var ms PointWriter = discard{}
			if tc.embedded {
				st, err := embedded.Open(b.TempDir(), embedded.Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer st.Close()
				ms = st
			}
			h := New(Config{Catalog: f.cat, Metrics: ms})
			defer h.Close()
			body := benchBatch(b)
			var seq atomic.Int64
			post := func(rec *httptest.ResponseRecorder) {
				req := httptest.NewRequest("POST", "/v1/write", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+f.tokens["agent"])
				req.Header.Set("Content-Encoding", "gzip")
				if tc.batchIDs {
					req.Header.Set(BatchIDHeader, "b-"+strconv.FormatInt(seq.Add(1), 10))
				}
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusNoContent {
					b.Errorf("status %d: %s", rec.Code, rec.Body)
				}
			}
			start, m0 := startReport(b)
			if tc.parallel {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						post(httptest.NewRecorder())
					}
				})
			} else {
				for range b.N {
					post(httptest.NewRecorder())
				}
			}
			reportPoints(b, start, m0)
		})
	}
}

// BenchmarkDecode is decode and validation alone, on the gunzipped batch.
func BenchmarkDecode(b *testing.B) {
	zr, err := gzip.NewReader(bytes.NewReader(benchBatch(b)))
	if err != nil {
		b.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		b.Fatal(err)
	}
	var d decoded
	r := rules{node: "web-1", unit: 1, approve: func(context.Context, string, string) (verdict, string, error) { return approved, "", nil }}
	start, m0 := startReport(b)
	for range b.N {
		d.reset()
		if err := decode(context.Background(), plain, r, &d); err != nil || len(d.points) != benchPoints {
			b.Fatalf("decode: %v, %d points", err, len(d.points))
		}
	}
	reportPoints(b, start, m0)
}

// BenchmarkGunzip compares the standard library's gzip reader with
// klauspost/compress's, which ingest uses, on an agent's batch.
//
//	go test -run '^$' -bench Gunzip -count 3 ./registry/internal/ingest/
func BenchmarkGunzip(b *testing.B) {
	body := benchBatch(b)
	for _, tc := range []struct {
		name  string
		reset func(io.Reader) (io.Reader, error)
	}{
		{"stdlib", func() func(io.Reader) (io.Reader, error) {
			zr := new(gzip.Reader)
			return func(r io.Reader) (io.Reader, error) { return zr, zr.Reset(r) }
		}()},
		{"klauspost", func() func(io.Reader) (io.Reader, error) {
			zr := new(kgzip.Reader)
			return func(r io.Reader) (io.Reader, error) { return zr, zr.Reset(r) }
		}()},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var buf bytes.Buffer
			start, m0 := startReport(b)
			for range b.N {
				zr, err := tc.reset(bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				buf.Reset()
				if _, err := buf.ReadFrom(zr); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(buf.Len()))
			reportPoints(b, start, m0)
		})
	}
}

// BenchmarkDecodePlain compares decodeV2 with decode, which takes the fast
// path (decodePlain), on an agent's batch: benchBatch's points as an agent
// sends them, with the node and plugin tags, tags sorted.
//
//	go test -run '^$' -bench 'Decode' -benchtime 200x -count 3 ./registry/internal/ingest/
func BenchmarkDecodePlain(b *testing.B) {
	var lp bytes.Buffer
	t0 := time.Now().Add(-time.Minute).Truncate(time.Second).UnixNano()
	for i := range benchPoints {
		fmt.Fprintf(&lp, "cpu,cpu=cpu%d,host=web-%d,node=web-1,plugin=system,region=eu-west-1 usage_user=%d.%03d,usage_system=%d.%03d,processes=%di %d\n",
			i%64, i/64%16, i%97, i%1000, i%13, i%997, 100+i%50, t0+int64(i)*int64(time.Millisecond))
	}
	body := lp.Bytes()
	r := rules{node: "web-1", unit: 1, approve: func(context.Context, string, string) (verdict, string, error) { return approved, "", nil }}
	for _, tc := range []struct {
		name   string
		decode func(context.Context, []byte, rules, *decoded) error
	}{
		{"v2", decodeV2},
		{"plain", decode},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var d decoded
			start, m0 := startReport(b)
			for range b.N {
				d.reset()
				if err := tc.decode(context.Background(), body, r, &d); err != nil || len(d.points) != benchPoints || !d.verbatim {
					b.Fatalf("decode: %v, %d points, verbatim %v", err, len(d.points), d.verbatim)
				}
			}
			reportPoints(b, start, m0)
		})
	}
}
