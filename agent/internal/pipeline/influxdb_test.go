package pipeline

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// influxRequest is what the fake InfluxDB saw.
type influxRequest struct {
	Method, Path, Encoding, Auth, Body string
	Query                              url.Values
}

// influxServer is a fake InfluxDB /write on 127.0.0.1 that records
// requests and answers with respond (default 204). With hang set, it
// announces each request on arrived and answers only when the client
// goes away.
type influxServer struct {
	*httptest.Server
	respond func(n int) (int, string)
	hang    bool
	arrived chan struct{}

	mu       sync.Mutex
	requests []influxRequest
}

func newInfluxServer(t *testing.T) *influxServer {
	s := &influxServer{arrived: make(chan struct{}, 100)}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *influxServer) serve(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, `{"error":"bad gzip"}`, http.StatusBadRequest)
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, `{"error":"bad body"}`, http.StatusBadRequest)
		return
	}
	auth := ""
	if u, p, ok := r.BasicAuth(); ok {
		auth = u + ":" + p
	}
	s.mu.Lock()
	s.requests = append(s.requests, influxRequest{r.Method, r.URL.Path, r.Header.Get("Content-Encoding"), auth, string(raw), r.URL.Query()})
	n := len(s.requests)
	s.mu.Unlock()
	if s.hang {
		s.arrived <- struct{}{}
		<-r.Context().Done()
		return
	}
	code, msg := http.StatusNoContent, ""
	if s.respond != nil {
		code, msg = s.respond(n)
	}
	w.WriteHeader(code)
	io.WriteString(w, msg)
}

func (s *influxServer) seen() []influxRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]influxRequest(nil), s.requests...)
}

func TestInfluxDBRequest(t *testing.T) {
	tests := []struct {
		name string
		cfg  InfluxDBConfig
		path string
		want influxRequest
	}{
		{
			name: "gzip and auth",
			cfg:  InfluxDBConfig{Database: "vigil", Username: "u", Password: "p w", RetentionPolicy: "week"},
			want: influxRequest{Method: "POST", Path: "/write", Encoding: "gzip", Auth: "u:p w",
				Query: url.Values{"db": {"vigil"}, "precision": {"ns"}, "rp": {"week"}}},
		},
		{
			name: "plain, behind a path prefix",
			cfg:  InfluxDBConfig{Database: "d b", DisableGzip: true},
			path: "/influx/",
			want: influxRequest{Method: "POST", Path: "/influx/write", Query: url.Values{"db": {"d b"}, "precision": {"ns"}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newInfluxServer(t)
			tc.cfg.URL = srv.URL + tc.path
			out, err := InfluxDB(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			lp := testLines(3, 0)
			if err := out.Write(context.Background(), []byte(lp), 3); err != nil {
				t.Fatal(err)
			}
			tc.want.Body = lp
			if diff := cmp.Diff([]influxRequest{tc.want}, srv.seen()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestInfluxDBAnswers(t *testing.T) {
	tests := []struct {
		code          int
		body          string
		wantErr       string // "" for success
		wantPermanent bool
	}{
		{code: 204},
		{code: 200},
		{code: 500, body: `{"error":"timeout"}`, wantErr: "server answered 500 Internal Server Error: timeout"},
		{code: 503, body: "overloaded\n", wantErr: "server answered 503 Service Unavailable: overloaded"},
		{code: 429, wantErr: "server answered 429 Too Many Requests: no message"},
		{code: 400, body: `{"error":"partial write: unable to parse 'x': missing fields dropped=1"}`,
			wantErr: "server refused the batch with 400 Bad Request: partial write: unable to parse 'x'", wantPermanent: true},
		{code: 413, body: `{"error":"Request Entity Too Large"}`, wantErr: "413 Request Entity Too Large", wantPermanent: true},
		{code: 404, body: `{"error":"database not found: \"vigil\""}`, wantErr: `404 Not Found: database not found: "vigil"`, wantPermanent: true},
		{code: 401, body: `{"error":"authorization failed"}`, wantErr: "401 Unauthorized: authorization failed", wantPermanent: true},
	}
	for _, tc := range tests {
		t.Run(http.StatusText(tc.code), func(t *testing.T) {
			srv := newInfluxServer(t)
			srv.respond = func(int) (int, string) { return tc.code, tc.body }
			out, err := InfluxDB(InfluxDBConfig{URL: srv.URL, Database: "vigil"})
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			err = out.Write(context.Background(), []byte("m v=1 1\n"), 1)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("error = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
			}
			if IsPermanent(err) != tc.wantPermanent {
				t.Errorf("IsPermanent = %v, want %v", IsPermanent(err), tc.wantPermanent)
			}
		})
	}
}

func TestInfluxDBHangingServer(t *testing.T) {
	srv := newInfluxServer(t)
	srv.hang = true
	out, err := InfluxDB(InfluxDBConfig{URL: srv.URL, Database: "vigil"})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-srv.arrived
		cancel()
	}()
	err = out.Write(ctx, []byte("m v=1 1\n"), 1)
	if !errors.Is(err, context.Canceled) || IsPermanent(err) {
		t.Errorf("error = %v, want a retryable context.Canceled", err)
	}
}

func TestInfluxDBConfigErrors(t *testing.T) {
	tests := []struct {
		cfg  InfluxDBConfig
		want string
	}{
		{InfluxDBConfig{URL: "localhost:8086", Database: "d"}, "must be http:// or https://"},
		{InfluxDBConfig{URL: "127.0.0.1:8086", Database: "d"}, "invalid url"},
		{InfluxDBConfig{URL: "ftp://h", Database: "d"}, "must be http:// or https://"},
		{InfluxDBConfig{URL: "http://%zz", Database: "d"}, "invalid url"},
		{InfluxDBConfig{URL: "http://h"}, "database is required"},
	}
	for _, tc := range tests {
		_, err := InfluxDB(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("InfluxDB(%+v) error = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func TestInfluxDBThroughPipeline(t *testing.T) {
	tests := []struct {
		name         string
		answers      []int
		wantRequests int
		wantStats    OutputStats
		wantErr      string
	}{
		{name: "retried until accepted", answers: []int{500, 429, 204}, wantRequests: 3, wantStats: OutputStats{Sent: 5}},
		{name: "bad request not retried", answers: []int{400}, wantRequests: 1,
			wantStats: OutputStats{Failed: 5, LastError: "writing to influxdb: server refused the batch with 400 Bad Request: no message"},
			wantErr:   "output influxdb: 1 batches (5 points) not delivered"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newInfluxServer(t)
			srv.respond = func(n int) (int, string) { return tc.answers[min(n, len(tc.answers))-1], "" }
			out, err := InfluxDB(InfluxDBConfig{URL: srv.URL, Database: "vigil"})
			if err != nil {
				t.Fatal(err)
			}
			p := New(fastRetries, nil, out)
			defer p.Close(context.Background())
			if err := p.Write("p", testBatch(5, 0)); err != nil {
				t.Fatal(err)
			}
			err = p.Flush(context.Background())
			if (err == nil) != (tc.wantErr == "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Flush error = %v, want %q", err, tc.wantErr)
			}
			reqs := srv.seen()
			if len(reqs) != tc.wantRequests {
				t.Fatalf("%d requests, want %d", len(reqs), tc.wantRequests)
			}
			for _, r := range reqs {
				if r.Body != testLines(5, 0) {
					t.Errorf("body %q", r.Body)
				}
			}
			if diff := cmp.Diff(tc.wantStats, p.Stats()["influxdb"]); diff != "" {
				t.Errorf("stats (-want +got):\n%s", diff)
			}
		})
	}
}
