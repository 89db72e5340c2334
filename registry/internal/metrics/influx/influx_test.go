package influx_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/go-hclog"

	"github.com/vigilmon/vigil/registry/internal/metrics"
	"github.com/vigilmon/vigil/registry/internal/metrics/influx"
	"github.com/vigilmon/vigil/registry/internal/metrics/metricstest"
	"github.com/vigilmon/vigil/test/influxtest"
	"github.com/vigilmon/vigil/test/syncbuf"
)

// TestMain doubles as the process TestCrashSafety kills.
func TestMain(m *testing.M) {
	if dir := os.Getenv("VIGIL_INFLUX_CRASH_DIR"); dir != "" {
		crashChild(dir, os.Getenv("VIGIL_INFLUX_CRASH_URL"))
		return
	}
	os.Exit(m.Run())
}

var dbSeq atomic.Int64

// open opens a store in dir on a database of its own (unless opts names
// one), closed when the test ends.
func open(t *testing.T, dir string, opts influx.Options) *influx.Store {
	t.Helper()
	if opts.Database == "" {
		opts.Database = fmt.Sprintf("vigil_test_%d", dbSeq.Add(1))
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	st, err := influx.Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestConformance(t *testing.T) {
	base := influxtest.Start(t)
	metricstest.Run(t, func(t *testing.T) metrics.Store {
		return open(t, t.TempDir(), influx.Options{URL: base})
	})
}

// points makes n points of measurement m, one series per node, time
// start + i seconds, v = i.
func points(m string, n, start int) []metrics.Point {
	pts := make([]metrics.Point, n)
	for i := range n {
		pts[i] = metrics.Point{
			Measurement: m,
			Tags:        []metrics.Tag{{Key: "node", Value: "web-1"}},
			Fields:      []metrics.Field{{Key: "v", Value: metrics.Value{Kind: metrics.Float, F: float64(start + i)}}},
			Time:        epoch.Add(time.Duration(start+i) * time.Second).UnixNano(),
		}
	}
	return pts
}

var epoch = time.Unix(time.Now().Unix()/3600*3600-3600, 0)

// values returns the values of field v of m from st, raw, over the hour.
func values(t *testing.T, st metrics.Store, m string) []float64 {
	t.Helper()
	series, err := st.Query(t.Context(), metrics.Query{Measurement: m, Field: "v", From: epoch, To: epoch.Add(time.Hour)})
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	var vs []float64
	for _, s := range series {
		for _, smp := range s.Samples {
			vs = append(vs, smp.Value)
		}
	}
	return vs
}

func seq(from, n int) []float64 {
	vs := make([]float64, n)
	for i := range vs {
		vs[i] = float64(from + i)
	}
	return vs
}

// switchProxy is InfluxDB behind a switch: when down, every connection is
// closed without an answer.
type switchProxy struct {
	up atomic.Bool
	rp *httputil.ReverseProxy
}

func newSwitchProxy(t *testing.T, target string) (*switchProxy, string) {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &switchProxy{rp: httputil.NewSingleHostReverseProxy(u)}
	p.rp.ErrorLog = log.New(io.Discard, "", 0) // a switched-off backend is the point
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return p, srv.URL
}

func (p *switchProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p.up.Load() {
		p.rp.ServeHTTP(w, r)
		return
	}
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

// TestInfluxDown: InfluxDB is away when the store opens, while points
// are written, across a restart of the store; when it is back, Flush
// returns and every point is there once.
func TestInfluxDown(t *testing.T) {
	base := influxtest.Start(t)
	proxy, proxyURL := newSwitchProxy(t, base)
	dir := t.TempDir()
	logs := &syncbuf.Buffer{}
	opts := influx.Options{URL: proxyURL, Database: "vigil_down", RetryMax: 50 * time.Millisecond, CloseTimeout: 100 * time.Millisecond,
		Logger: hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Info})}

	st, err := influx.Open(dir, opts)
	if err != nil {
		t.Fatalf("Open with InfluxDB down: %v", err)
	}
	for i := range 3 {
		if err := st.Write(t.Context(), points("down", 100, 100*i)); err != nil {
			t.Fatalf("Write %d with InfluxDB down: %v", i, err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	err = st.Flush(ctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Flush with InfluxDB down = %v; want it to wait until its context ends", err)
	}
	waitFor(t, "a failed attempt", func() bool { return st.Stats().Retries > 0 })
	stats := st.Stats()
	if stats.Forwarded != 0 || stats.Retries == 0 || stats.Queued < 3 {
		t.Errorf("stats while down: %+v; want nothing forwarded, retries, 3 records queued", stats)
	}
	// A restart during the outage: Close gives up on the queue after
	// CloseTimeout; the next Open forwards it.
	if err := st.Close(); err != nil {
		t.Fatalf("Close with InfluxDB down: %v", err)
	}
	if err := st.Write(t.Context(), points("down", 1, 0)); !errors.Is(err, influx.ErrClosed) {
		t.Errorf("Write after Close = %v; want ErrClosed", err)
	}

	st = open(t, dir, opts)
	if err := st.Write(t.Context(), points("down", 200, 300)); err != nil {
		t.Fatalf("Write after reopening with InfluxDB down: %v", err)
	}
	waitFor(t, "a failed attempt after reopening", func() bool { return st.Stats().Retries > 0 })
	proxy.up.Store(true)
	ctx, cancel = context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	if err := st.Flush(ctx); err != nil {
		t.Fatalf("Flush once InfluxDB is back: %v", err)
	}
	if d := cmp.Diff(seq(0, 500), values(t, st, "down")); d != "" {
		t.Errorf("points in InfluxDB (-want +got):\n%s", d)
	}
	stats = st.Stats()
	if stats.Forwarded != 500 || stats.Queued != 0 || stats.Rejected != 0 || stats.Refused != 0 {
		t.Errorf("stats after the outage: %+v; want 500 forwarded, nothing queued, rejected or dropped", stats)
	}
	for _, want := range []string{"cannot create the database yet", "cannot create the database; retrying", "closing with points still queued",
		"forwarding points queued before the restart", "InfluxDB takes writes again"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

// waitFor polls cond for up to 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("waited 30s for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCrashSafety kills a process that wrote points while InfluxDB was
// unreachable; a new store on its directory forwards them all.
func TestCrashSafety(t *testing.T) {
	base := influxtest.Start(t)
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close() // connections to it are refused

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "VIGIL_INFLUX_CRASH_DIR="+dir, "VIGIL_INFLUX_CRASH_URL="+dead)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "written 1000\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child said %q, %v; want \"written 1000\"", line, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	st := open(t, dir, influx.Options{URL: base, Database: "vigil_crash"})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	if err := st.Flush(ctx); err != nil {
		t.Fatalf("Flush after the crash: %v", err)
	}
	if d := cmp.Diff(seq(0, 1000), values(t, st, "crash")); d != "" {
		t.Errorf("points in InfluxDB (-want +got):\n%s", d)
	}
}

// crashChild writes 1,000 points in ten writes to a store that cannot
// reach InfluxDB, says so, and waits to be killed.
func crashChild(dir, url string) {
	st, err := influx.Open(dir, influx.Options{URL: url, Database: "vigil_crash", RetryMax: 50 * time.Millisecond})
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(2)
	}
	for i := range 10 {
		if err := st.Write(context.Background(), points("crash", 100, 100*i)); err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			os.Exit(2)
		}
	}
	fmt.Println("written 1000")
	select {}
}

// TestRejected: a body InfluxDB answers 400 (a field type conflict) is
// counted, logged and not retried, and its good lines are stored.
func TestRejected(t *testing.T) {
	base := influxtest.Start(t)
	logs := &syncbuf.Buffer{}
	st := open(t, t.TempDir(), influx.Options{URL: base, Logger: hclog.New(&hclog.LoggerOptions{Output: logs})})
	if err := st.Write(t.Context(), points("conflict", 2, 0)); err != nil {
		t.Fatal(err)
	}
	if err := st.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	bad := points("conflict", 3, 2)
	bad[1].Fields[0].Value = metrics.Value{Kind: metrics.String, S: "not a float"}
	if err := st.Write(t.Context(), bad); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := st.Flush(ctx); err != nil {
		t.Fatalf("Flush after a rejected write: %v", err)
	}
	if d := cmp.Diff([]float64{0, 1, 2, 4}, values(t, st, "conflict")); d != "" {
		t.Errorf("points in InfluxDB (-want +got):\n%s", d)
	}
	got := st.Stats()
	want := influx.Stats{Forwarded: 4, Rejected: 1, RejectedBatches: 1}
	if d := cmp.Diff(want, got, cmpopts.IgnoreFields(influx.Stats{}, "QueuedBytes")); d != "" {
		t.Errorf("stats (-want +got):\n%s", d)
	}
	if !strings.Contains(logs.String(), "InfluxDB refused points; not retrying them") || !strings.Contains(logs.String(), "field type conflict") {
		t.Errorf("logs lack the refusal:\n%s", logs)
	}
}

func TestOpenErrors(t *testing.T) {
	cases := []struct {
		name string
		opts influx.Options
		want string
	}{
		{"no URL", influx.Options{Database: "d"}, `influx: URL "": want http://host:port`},
		{"not http", influx.Options{URL: "udp://127.0.0.1:8089", Database: "d"}, `influx: URL "udp://127.0.0.1:8089": want http://host:port`},
		{"no database", influx.Options{URL: "http://127.0.0.1:8086"}, "influx: a database name is required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, err := influx.Open(t.TempDir(), tc.opts)
			if err == nil {
				st.Close()
			}
			if err == nil || err.Error() != tc.want {
				t.Errorf("Open error = %v; want %q", err, tc.want)
			}
		})
	}
}

// TestWriteLines: line protocol handed over as is (metrics.LineWriter)
// lands in InfluxDB as the same data as its points written through Write,
// field types and all.
func TestWriteLines(t *testing.T) {
	base := influxtest.Start(t)
	const lines = "cpu,cpu=cpu0,node=web-1,plugin=system usage=12.5,big=1e+06,small=-3.5E-2,procs=412i,up=t,name=\"a b,c=d\" 1795000000000000000\n" +
		"cpu,cpu=cpu0,node=web-1,plugin=system usage=13,big=2e+06,small=0,procs=-1i,up=FALSE,name=\"\" 1795000010000000000\n"
	tags := []metrics.Tag{{Key: "cpu", Value: "cpu0"}, {Key: "node", Value: "web-1"}, {Key: "plugin", Value: "system"}}
	point := func(usage, big, small float64, procs int64, up bool, name string, at int64) metrics.Point {
		return metrics.Point{Measurement: "cpu", Tags: tags, Time: at, Fields: []metrics.Field{
			{Key: "usage", Value: metrics.Value{Kind: metrics.Float, F: usage}},
			{Key: "big", Value: metrics.Value{Kind: metrics.Float, F: big}},
			{Key: "small", Value: metrics.Value{Kind: metrics.Float, F: small}},
			{Key: "procs", Value: metrics.Value{Kind: metrics.Int, I: procs}},
			{Key: "up", Value: metrics.Value{Kind: metrics.Bool, B: up}},
			{Key: "name", Value: metrics.Value{Kind: metrics.String, S: name}},
		}}
	}
	pts := []metrics.Point{
		point(12.5, 1e6, -3.5e-2, 412, true, "a b,c=d", 1795000000000000000),
		point(13, 2e6, 0, -1, false, "", 1795000010000000000),
	}
	ctx := context.Background()
	asIs := open(t, t.TempDir(), influx.Options{URL: base, Database: "lines_as_is"})
	encoded := open(t, t.TempDir(), influx.Options{URL: base, Database: "lines_encoded"})
	if err := asIs.WriteLines(ctx, pts, []byte(lines)); err != nil {
		t.Fatal(err)
	}
	if err := encoded.Write(ctx, pts); err != nil {
		t.Fatal(err)
	}
	for _, st := range []*influx.Store{asIs, encoded} {
		fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if err := st.Flush(fctx); err != nil {
			t.Fatal(err)
		}
		cancel()
		if s := st.Stats(); s.Forwarded != 2 || s.Rejected != 0 {
			t.Fatalf("stats %+v, want 2 forwarded, none rejected", s)
		}
	}
	for _, q := range []string{"SELECT * FROM cpu", "SHOW FIELD KEYS FROM cpu", "SHOW TAG KEYS FROM cpu"} {
		got, want := influxtest.Query(t, base, "lines_as_is", q), influxtest.Query(t, base, "lines_encoded", q)
		if got != want {
			t.Errorf("%s: lines as is and points encoded differ:\n as is:   %s\n encoded: %s", q, got, want)
		}
		if !strings.Contains(got, "cpu0") && !strings.Contains(got, "usage") && !strings.Contains(got, "plugin") {
			t.Errorf("%s: nothing landed: %s", q, got)
		}
	}
}

// TestQueueFull: with InfluxDB away long enough to fill the queue, Write
// refuses points with an error asking the client to come back (ingest's
// 503) and drops none it took; once InfluxDB is back, every point taken
// lands and writes are taken again.
func TestQueueFull(t *testing.T) {
	base := influxtest.Start(t)
	proxy, proxyURL := newSwitchProxy(t, base)
	logs := &syncbuf.Buffer{}
	st := open(t, t.TempDir(), influx.Options{URL: proxyURL, Database: "vigil_full", QueueMaxBytes: 64 << 10, RetryMax: 50 * time.Millisecond,
		Logger: hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Info})})
	taken, refused := 0, 0
	for i := 0; refused < 3; i++ {
		if i > 1000 {
			t.Fatal("a 64 KiB queue took 100,000 points")
		}
		err := st.Write(t.Context(), points("full", 100, 100*i))
		if err == nil {
			taken += 100
			continue
		}
		var ra interface{ RetryAfter() time.Duration }
		if !errors.Is(err, influx.ErrQueueFull) || !errors.As(err, &ra) || ra.RetryAfter() < time.Second {
			t.Fatalf("Write to a full queue = %v; want ErrQueueFull with a Retry-After of a second or more", err)
		}
		refused++
	}
	if s := st.Stats(); s.Refused != int64(refused*100) || s.Forwarded != 0 {
		t.Errorf("stats while full: %+v; want %d refused, nothing forwarded", s, refused*100)
	}
	if err := st.Admit(); !errors.Is(err, influx.ErrQueueFull) {
		t.Errorf("Admit while full = %v; want ErrQueueFull, so that ingest need not read the body", err)
	}

	proxy.up.Store(true)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	if err := st.Flush(ctx); err != nil {
		t.Fatalf("Flush once InfluxDB is back: %v", err)
	}
	if err := st.Admit(); err != nil {
		t.Errorf("Admit once the queue drained = %v", err)
	}
	if err := st.Write(t.Context(), points("more", 10, 0)); err != nil {
		t.Fatalf("Write once the queue drained: %v", err)
	}
	if err := st.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(values(t, st, "full")); got != taken {
		t.Errorf("%d points in InfluxDB, want the %d the store took", got, taken)
	}
	for _, want := range []string{"the queue to InfluxDB is full: refusing writes", "the queue to InfluxDB takes writes again"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}
