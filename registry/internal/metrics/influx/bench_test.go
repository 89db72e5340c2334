package influx_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/influxdata/line-protocol/v2/lineprotocol"

	"github.com/vigilmon/vigil/registry/internal/metrics"
	"github.com/vigilmon/vigil/registry/internal/metrics/influx"
	"github.com/vigilmon/vigil/test/influxtest"
)

const (
	benchBatch   = 5000 // points per Write, as an agent's batch
	benchSeries  = 1000 // series per simulated agent
	benchWriters = 4    // concurrent writers, and POSTs in flight
)

// fillBatch rewrites pts (benchBatch points) as batch k of a simulated
// agent: measurement cpu, tags cpu/node/plugin, two floats and an int,
// every series advancing 10 s per step.
func fillBatch(pts []metrics.Point, tags [][]metrics.Tag, k int) {
	start := time.Unix(1795000000, 0)
	for i := range pts {
		s, step := i%benchSeries, k*(benchBatch/benchSeries)+i/benchSeries
		p := &pts[i]
		p.Measurement = "cpu"
		p.Tags = tags[s]
		if len(p.Fields) != 3 {
			p.Fields = make([]metrics.Field, 3)
		}
		p.Fields[0] = metrics.Field{Key: "usage_user", Value: metrics.Value{Kind: metrics.Float, F: float64(step%100) + 0.25}}
		p.Fields[1] = metrics.Field{Key: "usage_system", Value: metrics.Value{Kind: metrics.Float, F: float64(s%100) / 3}}
		p.Fields[2] = metrics.Field{Key: "processes", Value: metrics.Value{Kind: metrics.Int, I: int64(step)}}
		p.Time = start.Add(time.Duration(step) * 10 * time.Second).UnixNano()
	}
}

func benchTags() [][]metrics.Tag {
	tags := make([][]metrics.Tag, benchSeries)
	for s := range tags {
		tags[s] = []metrics.Tag{
			{Key: "cpu", Value: fmt.Sprintf("cpu%d", s%8)},
			{Key: "node", Value: fmt.Sprintf("web-%03d", s/8)},
			{Key: "plugin", Value: "system"},
		}
	}
	return tags
}

// BenchmarkShip compares, on one real influxd, the points per second of
// (direct) gzip bodies of line protocol POSTed to InfluxDB over
// benchWriters connections, the baseline, with (forward) the same points
// written by benchWriters goroutines through the influx store (encode,
// fsynced queue, forwarder) until Flush returns. One op is a round of
// benchRound batches of 5,000 points each way, direct then forward, so
// that both see the same load on the machine; the metrics are the totals
// over all rounds and their ratio. The target: ratio ≥ 0.9.
//
//	go test -run '^$' -bench Ship -benchtime 10x -count 3 ./registry/internal/metrics/influx
func BenchmarkShip(b *testing.B) {
	const benchRound = 20
	base := influxtest.Start(b)
	tags := benchTags()
	direct, forward := fmt.Sprintf("direct_%d", b.N), fmt.Sprintf("forward_%d", b.N)
	for _, db := range []string{direct, forward} {
		influxtest.Query(b, base, "", "DROP DATABASE "+db)
		influxtest.Query(b, base, "", "CREATE DATABASE "+db)
	}

	// Every body of the direct side, gzipped beforehand as a client
	// would; the forward side encodes and compresses as part of its work.
	bodies := make([][]byte, b.N*benchRound)
	pts := make([]metrics.Point, benchBatch)
	var enc lineprotocol.Encoder
	enc.SetPrecision(lineprotocol.Nanosecond)
	for k := range bodies {
		fillBatch(pts, tags, k)
		enc.Reset()
		for _, p := range pts {
			enc.StartLine(p.Measurement)
			for _, t := range p.Tags {
				enc.AddTag(t.Key, t.Value)
			}
			enc.AddField("usage_user", lineprotocol.MustNewValue(p.Fields[0].Value.F))
			enc.AddField("usage_system", lineprotocol.MustNewValue(p.Fields[1].Value.F))
			enc.AddField("processes", lineprotocol.MustNewValue(p.Fields[2].Value.I))
			enc.EndLine(time.Unix(0, p.Time))
		}
		if err := enc.Err(); err != nil {
			b.Fatal(err)
		}
		var z bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&z, gzip.BestSpeed)
		zw.Write(enc.Bytes())
		zw.Close()
		bodies[k] = z.Bytes()
	}
	url := base + "/write?db=" + direct + "&precision=ns"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchWriters}}

	st, err := influx.Open(b.TempDir(), influx.Options{URL: base, Database: forward, Concurrency: benchWriters, Logger: hclog.NewNullLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	writerPts := make([][]metrics.Point, benchWriters)
	for i := range writerPts {
		writerPts[i] = make([]metrics.Point, benchBatch)
	}

	// parallel runs do(w, k) for k in [from, to) on benchWriters goroutines.
	var failed firstError
	parallel := func(from, to int, do func(w, k int) error) {
		var next atomic.Int64
		next.Store(int64(from))
		var wg sync.WaitGroup
		for w := range benchWriters {
			wg.Go(func() {
				for k := int(next.Add(1)) - 1; k < to; k = int(next.Add(1)) - 1 {
					if err := do(w, k); err != nil {
						failed.set(err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	post := func(_, k int) error {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(bodies[k]))
		req.Header.Set("Content-Encoding", "gzip")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			return fmt.Errorf("POST /write: %s", resp.Status)
		}
		return nil
	}
	write := func(w, k int) error {
		fillBatch(writerPts[w], tags, k)
		return st.Write(context.Background(), writerPts[w])
	}

	var directTime, forwardTime time.Duration
	b.ResetTimer()
	for round := range b.N {
		from, to := round*benchRound, (round+1)*benchRound
		t0 := time.Now()
		parallel(from, to, post)
		t1 := time.Now()
		parallel(from, to, write)
		if err := st.Flush(context.Background()); err != nil {
			b.Fatal(err)
		}
		directTime, forwardTime = directTime+t1.Sub(t0), forwardTime+time.Since(t1)
		if err := failed.get(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	n := float64(b.N * benchRound * benchBatch)
	if s := st.Stats(); s.Forwarded != int64(n) {
		b.Fatalf("forwarded %d points; want %v (stats %+v)", s.Forwarded, n, s)
	}
	b.ReportMetric(n/directTime.Seconds(), "direct-points/s")
	b.ReportMetric(n/forwardTime.Seconds(), "forward-points/s")
	b.ReportMetric(directTime.Seconds()/forwardTime.Seconds(), "forward/direct")
}

// firstError keeps the first error of several goroutines.
type firstError struct {
	mu  sync.Mutex
	err error
}

func (f *firstError) set(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
	}
}

func (f *firstError) get() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}
