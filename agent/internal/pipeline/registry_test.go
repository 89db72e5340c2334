package pipeline

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"
	"github.com/vigilmon/vigil/test/syncbuf"
)

// regRequest is one POST seen by a fakeRegistry.
type regRequest struct {
	Path, ID, Auth, Encoding, Type, Agent string
	Body                                  string // gunzipped
	at                                    time.Time
}

// fakeRegistry is an httptest server on 127.0.0.1 acting as the
// registry's /v1/write. reply answers request n (1, 2, ...); nil: 204.
type fakeRegistry struct {
	*httptest.Server
	reply func(n int, r regRequest) (status int, h http.Header, body string)

	mu   sync.Mutex
	reqs []regRequest
	got  chan regRequest // every request, as it arrives
}

func newFakeRegistry(t testing.TB, reply func(n int, r regRequest) (int, http.Header, string)) *fakeRegistry {
	f := &fakeRegistry{reply: reply, got: make(chan regRequest, 10000)}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeRegistry) serve(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := regRequest{
		Path: r.Method + " " + r.URL.Path, ID: r.Header.Get("Vigil-Batch-Id"), Auth: r.Header.Get("Authorization"),
		Encoding: r.Header.Get("Content-Encoding"), Type: r.Header.Get("Content-Type"), Agent: r.Header.Get("User-Agent"),
		Body: string(raw), at: time.Now(),
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	n := len(f.reqs)
	f.mu.Unlock()
	status, h, msg := http.StatusNoContent, http.Header(nil), ""
	if f.reply != nil {
		status, h, msg = f.reply(n, req)
	}
	for k, v := range h {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	io.WriteString(w, msg)
	f.got <- req
}

func (f *fakeRegistry) requests() []regRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]regRequest(nil), f.reqs...)
}

func newRegistry(t testing.TB, url string, log hclog.Logger) *RegistryOutput {
	t.Helper()
	o, err := Registry(RegistryConfig{URL: url, Token: "tok", Gzip: true, UserAgent: "vigil-agent/test", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestRegistryRequest(t *testing.T) {
	for _, gz := range []bool{true, false} {
		reg := newFakeRegistry(t, nil)
		o, err := Registry(RegistryConfig{URL: reg.URL + "/base/", Token: "tok", Gzip: gz})
		if err != nil {
			t.Fatal(err)
		}
		if err := o.WriteBatch(context.Background(), "id-1", []byte(testLines(3, 0)), 3); err != nil {
			t.Fatal(err)
		}
		want := regRequest{Path: "POST /base/v1/write", ID: "id-1", Auth: "Bearer tok", Type: "text/plain; charset=utf-8", Agent: "vigil-agent", Body: testLines(3, 0)}
		if gz {
			want.Encoding = "gzip"
		}
		if diff := cmp.Diff([]regRequest{want}, reg.requests(), cmp.AllowUnexported(regRequest{}), cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".at" }, cmp.Ignore())); diff != "" {
			t.Errorf("gzip %v (-want +got):\n%s", gz, diff)
		}
	}
}

func TestRegistryAnswers(t *testing.T) {
	retryAfter := func(v string) http.Header { return http.Header{"Retry-After": {v}} }
	tests := []struct {
		name          string
		status        int
		header        http.Header
		body          string
		wantErr       string // "" for success
		wantPermanent bool
		wantAfter     time.Duration // 0: no Retry-After
		wantLog       string
	}{
		{name: "stored", status: 204},
		{name: "replay", status: 204, header: http.Header{"Vigil-Batch-Replay": {"true"}}, wantLog: "already had this batch"},
		{
			name: "bad lines", status: 400,
			body:          `{"error":"partial write","lines":[{"line":3,"column":7,"error":"invalid field"},{"line":5,"column":1,"error":"bad tag"}],"stored":8,"rejected":2}`,
			wantErr:       "the registry refused the batch (400 Bad Request): partial write (8 lines stored, 2 rejected); line 3:7: invalid field; line 5:1: bad tag",
			wantPermanent: true, wantLog: `line=3:7 error="invalid field"`,
		},
		{name: "too large", status: 413, body: `{"error":"body over 10 MiB"}`, wantErr: "(413 Request Entity Too Large): body over 10 MiB", wantPermanent: true},
		{name: "not found: the URL, not the batch", status: 404, body: "404 page not found", wantErr: "404 Not Found from ", wantLog: "does not answer /v1/write"},
		{name: "gone", status: 410, body: "gone", wantErr: "(410 Gone): gone", wantPermanent: true},
		{name: "bad token", status: 401, body: `{"error":"invalid token"}`, wantErr: "refused the agent token (401 Unauthorized): invalid token; fix token in the registry block", wantLog: "[ERROR]"},
		{name: "forbidden", status: 403, wantErr: "refused the agent token (403 Forbidden)"},
		{name: "slow down", status: 429, header: retryAfter("7"), wantErr: "429 Too Many Requests", wantAfter: 7 * time.Second},
		{name: "unavailable with a date", status: 503, header: retryAfter(time.Now().Add(time.Hour + time.Minute).UTC().Format(http.TimeFormat)), wantErr: "503 Service Unavailable", wantAfter: maxRetryAfter},
		{name: "unavailable", status: 503, wantErr: "503 Service Unavailable"},
		{name: "server error", status: 500, body: "boom", wantErr: "500 Internal Server Error: boom"},
		{name: "3xx not followed", status: 300, wantErr: "300 Multiple Choices"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := newFakeRegistry(t, func(n int, _ regRequest) (int, http.Header, string) {
				if n > 1 {
					return 500, nil, "redirect followed"
				}
				return tc.status, tc.header, tc.body
			})
			var logs syncbuf.Buffer
			o := newRegistry(t, reg.URL, hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Debug}))
			err := o.WriteBatch(context.Background(), "b1", []byte("m v=1 1\n"), 1)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error = %v, want %q", err, tc.wantErr)
			}
			if got := IsPermanent(err); got != tc.wantPermanent {
				t.Errorf("permanent = %v", got)
			}
			after, _ := RetryAfterOf(err)
			if tc.wantAfter == maxRetryAfter && after != maxRetryAfter || tc.wantAfter != maxRetryAfter && after != tc.wantAfter {
				t.Errorf("retry after = %v, want %v", after, tc.wantAfter)
			}
			if !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("log lacks %q:\n%s", tc.wantLog, logs.String())
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{" 120 ", 2 * time.Minute, true},
		{"99999999", maxRetryAfter, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"Mon, 02 Jan 2006 15:04:05 GMT", 0, true}, // the past
	}
	for _, tc := range tests {
		got, ok := parseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.wantOK)
		}
	}
}

func TestRegistryConfigErrors(t *testing.T) {
	for _, cfg := range []RegistryConfig{
		{URL: "ftp://x", Token: "t"},
		{URL: "http://", Token: "t"},
		{URL: "http://x"},
		{URL: "::", Token: "t"},
	} {
		if _, err := Registry(cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}

func TestRegistryWriteNewIDs(t *testing.T) {
	reg := newFakeRegistry(t, nil)
	o := newRegistry(t, reg.URL, nil)
	for range 2 {
		if err := o.Write(context.Background(), []byte("m v=1 1\n"), 1); err != nil {
			t.Fatal(err)
		}
	}
	r := reg.requests()
	if len(r) != 2 || len(r[0].ID) != 32 || r[0].ID == r[1].ID {
		t.Errorf("ids %q, %q", r[0].ID, r[1].ID)
	}
}

func TestRegistryTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	o, err := Registry(RegistryConfig{URL: srv.URL, Token: "t", Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	err = o.WriteBatch(context.Background(), "b", []byte("m v=1 1\n"), 1)
	if !errors.Is(err, context.DeadlineExceeded) || IsPermanent(err) {
		t.Errorf("error = %v, want a retryable deadline", err)
	}
}

// FuzzRegistryAnswer feeds arbitrary answers to the registry output's
// response handling: it never panics, success is exactly 2xx, and only
// 4xx other than 401, 403 and 429 are permanent.
func FuzzRegistryAnswer(f *testing.F) {
	f.Add(400, "", []byte(`{"error":"partial write","lines":[{"line":3,"column":7,"error":"invalid field"}],"stored":1,"rejected":1}`))
	f.Add(400, "", []byte(`{"lines":[{},{},{},{},{}]}`))
	f.Add(503, "120", []byte("busy"))
	f.Add(429, "Wed, 21 Oct 2015 07:28:00 GMT", []byte{})
	f.Add(401, "", []byte(`{"error":"bad token"}`))
	f.Add(204, "", []byte(nil))
	f.Add(413, "-5", []byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, status int, retryAfter string, body []byte) {
		if status < 100 || status > 999 {
			return
		}
		o := newRegistry(t, "http://127.0.0.1:1", nil)
		resp := &http.Response{StatusCode: status, Status: strconv.Itoa(status) + " " + http.StatusText(status), Header: http.Header{"Retry-After": {retryAfter}}}
		err := o.outcome(resp, body, "id", 1)
		if (err == nil) != (status >= 200 && status < 300) {
			t.Fatalf("status %d: error %v", status, err)
		}
		wantPermanent := status >= 400 && status < 500 && status != 401 && status != 403 && status != 404 && status != 405 && status != 429
		if IsPermanent(err) != wantPermanent {
			t.Fatalf("status %d: permanent = %v (%v)", status, IsPermanent(err), err)
		}
		if d, ok := RetryAfterOf(err); ok && (d < 0 || d > maxRetryAfter) {
			t.Fatalf("retry after %v", d)
		}
		if err != nil && err.Error() == "" {
			t.Fatal("empty error message")
		}
	})
}
