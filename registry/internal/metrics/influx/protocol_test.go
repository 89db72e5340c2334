package influx_test

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/go-hclog"

	"github.com/vigilmon/vigil/registry/internal/metrics"
	"github.com/vigilmon/vigil/registry/internal/metrics/influx"
	"github.com/vigilmon/vigil/test/syncbuf"
)

// fakeInflux speaks just enough of InfluxDB's HTTP API to script its
// answers to writes: each /write takes the next scripted answer, 204 once
// the script is used up.
type fakeInflux struct {
	mu      sync.Mutex
	script  []answer
	writes  []received
	creates []string
	hold    chan struct{} // when not nil, /write waits for it to close
}

type answer struct {
	status     int
	retryAfter string
	body       string
}

type received struct {
	at      time.Time
	query   url.Values
	user    string
	pass    string
	lines   []string
	answer  int
	encoded string
}

func newFakeInflux(t *testing.T, script ...answer) (*fakeInflux, string) {
	f := &fakeInflux{script: script}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func (f *fakeInflux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/query":
		_ = r.ParseForm()
		f.mu.Lock()
		f.creates = append(f.creates, r.Form.Get("q"))
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"results":[{"statement_id":0}]}`+"\n")
	case "/write":
		f.mu.Lock()
		hold := f.hold
		f.mu.Unlock()
		if hold != nil {
			<-hold
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		rec := received{at: time.Now(), query: r.URL.Query(), encoded: r.Header.Get("Content-Encoding")}
		rec.user, rec.pass, _ = r.BasicAuth()
		var in io.Reader = r.Body
		if rec.encoded == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			in = zr
		}
		body, err := io.ReadAll(in)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rec.lines = strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
		f.mu.Lock()
		a := answer{status: http.StatusNoContent}
		if len(f.script) > 0 {
			a, f.script = f.script[0], f.script[1:]
		}
		rec.answer = a.status
		f.writes = append(f.writes, rec)
		f.mu.Unlock()
		if a.retryAfter != "" {
			w.Header().Set("Retry-After", a.retryAfter)
		}
		if a.body != "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeInflux) received() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]received(nil), f.writes...)
}

func flushWithin(t *testing.T, st *influx.Store, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	if err := st.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

// TestRetries: 503 with Retry-After, 500, 401 and 429 are retried (the
// Retry-After honoured), the same gzip body each time, with the
// credentials and the database; 204 ends it.
func TestRetries(t *testing.T) {
	fake, base := newFakeInflux(t,
		answer{status: 503, retryAfter: "1", body: `{"error":"overloaded"}`},
		answer{status: 500, body: `{"error":"engine: cache full"}`},
		answer{status: 401, body: `{"error":"authorization failed"}`},
		answer{status: 429, retryAfter: "1"},
	)
	logs := &syncbuf.Buffer{}
	st := open(t, t.TempDir(), influx.Options{URL: base, Database: "d b", Username: "vigil", Password: "s3cret",
		RetryMax: 20 * time.Millisecond, Logger: hclog.New(&hclog.LoggerOptions{Output: logs})})
	if err := st.Write(t.Context(), points("m", 3, 0)); err != nil {
		t.Fatal(err)
	}
	flushWithin(t, st, 30*time.Second)

	got := fake.received()
	var statuses []int
	for _, r := range got {
		statuses = append(statuses, r.answer)
	}
	if d := cmp.Diff([]int{503, 500, 401, 429, 204}, statuses); d != "" {
		t.Fatalf("answers given (-want +got):\n%s", d)
	}
	wantLines := []string{
		"m,node=web-1 v=0 " + nano(0),
		"m,node=web-1 v=1 " + nano(1),
		"m,node=web-1 v=2 " + nano(2),
	}
	for i, r := range got {
		if d := cmp.Diff(wantLines, r.lines); d != "" {
			t.Errorf("attempt %d body (-want +got):\n%s", i+1, d)
		}
		if r.query.Get("db") != "d b" || r.query.Get("precision") != "ns" || r.user != "vigil" || r.pass != "s3cret" || r.encoded != "gzip" {
			t.Errorf("attempt %d: query %v, user %q, password %q, Content-Encoding %q", i+1, r.query, r.user, r.pass, r.encoded)
		}
	}
	for _, gap := range []struct{ after, min int }{{0, 1}, {3, 1}} {
		if d := got[gap.after+1].at.Sub(got[gap.after].at); d < time.Duration(gap.min)*time.Second {
			t.Errorf("attempt %d came %v after a Retry-After of %ds", gap.after+2, d, gap.min)
		}
	}
	if s := st.Stats(); s.Retries != 4 || s.Forwarded != 3 {
		t.Errorf("stats %+v; want 4 retries and 3 forwarded", s)
	}
	if !strings.Contains(logs.String(), "InfluxDB refuses the credentials") {
		t.Errorf("logs lack the credentials error:\n%s", logs)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if d := cmp.Diff([]string{`CREATE DATABASE "d b"`}, fake.creates); d != "" {
		t.Errorf("queries (-want +got):\n%s", d)
	}
}

func nano(sec int) string {
	return strconv.FormatInt(epoch.Add(time.Duration(sec)*time.Second).UnixNano(), 10)
}

// TestRejectedNotRetried: a 400 is counted from InfluxDB's dropped=N and
// the batch acknowledged; a 404 for a missing database creates it again.
func TestRejectedNotRetried(t *testing.T) {
	fake, base := newFakeInflux(t,
		answer{status: 404, body: `{"error":"database not found: \"d\""}`},
		answer{status: 400, body: `{"error":"partial write: field type conflict: input field \"v\" on measurement \"m\" is type string, already exists as type float dropped=2"}`},
	)
	st := open(t, t.TempDir(), influx.Options{URL: base, Database: "d", RetryMax: 20 * time.Millisecond})
	if err := st.Write(t.Context(), points("m", 5, 0)); err != nil {
		t.Fatal(err)
	}
	flushWithin(t, st, 30*time.Second)
	if n := len(fake.received()); n != 2 {
		t.Errorf("%d POSTs; want 2 (the 404 retried once, the 400 not)", n)
	}
	want := influx.Stats{Forwarded: 3, Rejected: 2, RejectedBatches: 1}
	if d := cmp.Diff(want, st.Stats(), cmpopts.IgnoreFields(influx.Stats{}, "QueuedBytes")); d != "" {
		t.Errorf("stats (-want +got):\n%s", d)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if len(fake.creates) != 2 {
		t.Errorf("CREATE DATABASE sent %d times; want 2 (on Open, after the 404)", len(fake.creates))
	}
}

// TestBatching: a large write is cut into bodies of BatchPoints lines, and
// small records waiting in the queue are merged into one body.
func TestBatching(t *testing.T) {
	fake, base := newFakeInflux(t)
	dir := t.TempDir()
	st := open(t, dir, influx.Options{URL: base, Database: "d", BatchPoints: 10, Concurrency: 1})
	if err := st.Write(t.Context(), points("m", 25, 0)); err != nil {
		t.Fatal(err)
	}
	flushWithin(t, st, 30*time.Second)
	var sizes []int
	for _, r := range fake.received() {
		sizes = append(sizes, len(r.lines))
	}
	if d := cmp.Diff([]int{10, 10, 5}, sizes); d != "" {
		t.Errorf("lines per POST of one large write (-want +got):\n%s", d)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// Ten small writes queued while InfluxDB hangs; the store restarts
	// and finds them all waiting.
	fake, base = newFakeInflux(t)
	fake.hold = make(chan struct{})
	dir = t.TempDir()
	st, err := influx.Open(dir, influx.Options{URL: base, Database: "d", BatchPoints: 100, Concurrency: 1,
		CloseTimeout: 10 * time.Millisecond, Logger: hclog.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := st.Write(t.Context(), points("m", 3, 3*i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil { // gives up after CloseTimeout
		t.Fatal(err)
	}
	fake.mu.Lock()
	close(fake.hold)
	fake.hold = nil
	fake.mu.Unlock()
	before := len(fake.received())
	st = open(t, dir, influx.Options{URL: base, Database: "d", BatchPoints: 100, Concurrency: 1})
	flushWithin(t, st, 30*time.Second)
	sizes = nil
	for _, r := range fake.received()[before:] {
		sizes = append(sizes, len(r.lines))
	}
	if d := cmp.Diff([]int{30}, sizes); d != "" {
		t.Errorf("lines per POST of ten queued writes (-want +got):\n%s", d)
	}
}

// TestPlainBodies: with DisableGzip the bodies go uncompressed, without
// a Content-Encoding header, and arrive whole.
func TestPlainBodies(t *testing.T) {
	fake, base := newFakeInflux(t)
	st := open(t, t.TempDir(), influx.Options{URL: base, Database: "d", DisableGzip: true, Concurrency: 1})
	if err := st.Write(t.Context(), points("m", 3, 0)); err != nil {
		t.Fatal(err)
	}
	flushWithin(t, st, 30*time.Second)
	got := fake.received()
	if len(got) != 1 || got[0].encoded != "" || len(got[0].lines) != 3 || got[0].lines[0] != "m,node=web-1 v=0 "+nano(0) {
		t.Errorf("received %+v, want one plain body of 3 lines", got)
	}
}

func TestClosed(t *testing.T) {
	_, base := newFakeInflux(t)
	st := open(t, t.TempDir(), influx.Options{URL: base, Database: "d"})
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := st.Write(t.Context(), points("m", 1, 0)); !errors.Is(err, influx.ErrClosed) {
		t.Errorf("Write after Close = %v; want ErrClosed", err)
	}
	if err := st.Flush(t.Context()); !errors.Is(err, influx.ErrClosed) {
		t.Errorf("Flush after Close = %v; want ErrClosed", err)
	}
}

// TestQueryCutShortIsAskedAgain: an answer cut mid-stream (a connection
// closed by a proxy or a restart) is asked again; the second answer is
// used.
func TestQueryCutShortIsAskedAgain(t *testing.T) {
	var mu sync.Mutex
	asked := 0
	answer := `{"results":[{"statement_id":0,"series":[{"name":"m","tags":{"node":"web-1"},"columns":["time","v"],"values":[[1000,1.5]]}]}]}` + "\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if !strings.HasPrefix(r.Form.Get("q"), "SELECT") {
			io.WriteString(w, `{"results":[{"statement_id":0}]}`+"\n")
			return
		}
		mu.Lock()
		asked++
		first := asked == 1
		mu.Unlock()
		if first {
			w.Header().Set("Content-Length", strconv.Itoa(len(answer)))
			io.WriteString(w, answer[:len(answer)/2])
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		io.WriteString(w, answer)
	}))
	defer srv.Close()
	st := open(t, t.TempDir(), influx.Options{URL: srv.URL, Database: "d"})
	series, err := st.Query(t.Context(), metrics.Query{Measurement: "m", Field: "v", From: time.Unix(0, 0), To: time.Unix(1, 0)})
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	if len(series) != 1 || len(series[0].Samples) != 1 || series[0].Samples[0].Value != 1.5 {
		t.Errorf("series %+v", series)
	}
	mu.Lock()
	defer mu.Unlock()
	if asked != 2 {
		t.Errorf("asked %d times, want 2", asked)
	}
}
