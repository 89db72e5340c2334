package queryapi_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/go-hclog"

	"github.com/vigilmon/vigil/registry/internal/httpapi"
	"github.com/vigilmon/vigil/registry/internal/metrics"
	"github.com/vigilmon/vigil/registry/internal/queryapi"
	"github.com/vigilmon/vigil/registry/internal/store"
	"github.com/vigilmon/vigil/registry/internal/store/sqlite"
)

var now = time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC)

// fakeStore records the queries it is asked and answers with canned
// series or an error.
type fakeStore struct {
	mu      sync.Mutex
	asked   []metrics.Query
	answer  []metrics.Series
	failure error
}

func (f *fakeStore) Query(_ context.Context, q metrics.Query) ([]metrics.Series, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, q)
	if f.failure != nil {
		return nil, f.failure
	}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	return f.answer, nil
}

func (f *fakeStore) queries() []metrics.Query {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]metrics.Query(nil), f.asked...)
}

// fixture is the handler over real HTTP, authenticating through the real
// /v1 API on a real SQLite catalog with one token per role.
type fixture struct {
	url    string
	store  *fakeStore
	tokens map[string]string // admin, agent (web-1), agent-nonode, publisher, plugin
}

func newFixture(t *testing.T, maxSamples int) *fixture {
	t.Helper()
	ctx := t.Context()
	cat, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	pub, err := cat.CreatePublisher(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cat.CreatePlugin(ctx, store.Plugin{Name: "hello", Owner: pub.ID}); err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: &fakeStore{}, tokens: map[string]string{}}
	for name, c := range map[string]store.Credential{
		"admin":        {Role: store.RoleAdmin},
		"agent":        {Role: store.RoleAgent, Node: "web-1"},
		"agent-nonode": {Role: store.RoleAgent},
		"publisher":    {Role: store.RolePublisher, Publisher: pub.ID},
		"plugin":       {Role: store.RolePlugin, Plugin: "hello"},
	} {
		secret, hash := store.NewSecret()
		c.Hash = hash
		if _, err := cat.CreateCredential(ctx, c); err != nil {
			t.Fatalf("creating the %s token: %v", name, err)
		}
		f.tokens[name] = secret
	}
	api := httpapi.New(httpapi.Config{Store: cat, ArtifactDir: t.TempDir(), Logger: hclog.NewNullLogger()})
	h := queryapi.New(queryapi.Config{
		Store:        f.store,
		Authenticate: api.Authenticate,
		WriteError:   api.WriteError,
		Logger:       hclog.NewNullLogger(),
		MaxSamples:   maxSamples,
		Now:          func() time.Time { return now },
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

// get sends GET path as who (a token name, or "" for none) and returns
// the status and body.
func (f *fixture) get(t *testing.T, who, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, f.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok, ok := f.tokens[who]; ok {
		req.Header.Set("Authorization", "Bearer "+tok)
	} else if who != "" {
		req.Header.Set("Authorization", "Bearer "+who)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusMethodNotAllowed && ct != "application/json" {
		t.Errorf("GET %s: Content-Type %q; want application/json", path, ct)
	}
	return resp.StatusCode, string(b)
}

func TestRoles(t *testing.T) {
	f := newFixture(t, 0)
	f.store.answer = []metrics.Series{{Measurement: "cpu", Field: "usage", Tags: map[string]string{"node": "web-1"},
		Samples: []metrics.Sample{{Time: now.Add(-time.Minute), Value: 1}}}}
	ok := `{"series":[{"measurement":"cpu","field":"usage","tags":{"node":"web-1"},"points":[["2026-11-22T10:29:00Z",1]]}]}` + "\n"
	hour := func(node string) metrics.Query {
		return metrics.Query{Node: node, Measurement: "cpu", Field: "usage", From: now.Add(-time.Hour), To: now, Agg: metrics.Mean}
	}
	cases := []struct {
		name       string
		who, query string
		wantStatus int
		wantBody   string
		wantAsked  *metrics.Query // nil: the store is not asked
	}{
		{"admin any node", "admin", "node=web-2&measurement=cpu&field=usage", 200, ok, ptr(hour("web-2"))},
		{"admin every node", "admin", "measurement=cpu&field=usage", 200, ok, ptr(hour(""))},
		{"agent own node", "agent", "node=web-1&measurement=cpu&field=usage", 200, ok, ptr(hour("web-1"))},
		{"agent node defaults to its own", "agent", "measurement=cpu&field=usage", 200, ok, ptr(hour("web-1"))},
		{"agent own node as a tag", "agent", "tag.node=web-1&measurement=cpu&field=usage", 200, ok,
			ptr(func() metrics.Query { q := hour("web-1"); q.Tags = map[string]string{"node": "web-1"}; return q }())},
		{"agent another node", "agent", "node=web-2&measurement=cpu&field=usage", 403,
			`{"error":"forbidden for this agent token: it may query only its own node \"web-1\", not \"web-2\""}` + "\n", nil},
		{"agent another node as a tag", "agent", "tag.node=web-2&measurement=cpu&field=usage", 403,
			`{"error":"forbidden for this agent token: it may query only its own node \"web-1\", not \"web-2\""}` + "\n", nil},
		{"agent without a node", "agent-nonode", "measurement=cpu&field=usage", 403,
			`{"error":"forbidden for this agent token: it is bound to no node, so it may query none; ask the registry admin for a token with a node"}` + "\n", nil},
		{"publisher", "publisher", "measurement=cpu&field=usage", 403,
			`{"error":"forbidden for this publisher token: only the admin and agent tokens may query metrics"}` + "\n", nil},
		{"plugin key", "plugin", "measurement=cpu&field=usage", 403,
			`{"error":"forbidden for this plugin token: only the admin and agent tokens may query metrics"}` + "\n", nil},
		{"publisher with a bad query", "publisher", "step=x", 403,
			`{"error":"forbidden for this publisher token: only the admin and agent tokens may query metrics"}` + "\n", nil},
		{"no token", "", "measurement=cpu&field=usage", 401,
			`{"error":"missing token: send an Authorization: Bearer \u003ctoken\u003e header"}`, nil},
		{"unknown token", "vgr_nope", "measurement=cpu&field=usage", 401,
			`{"error":"unknown or revoked token: ask the registry admin for a new one"}`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.store.queries())
			status, body := f.get(t, tc.who, "/v1/query/series?"+tc.query)
			if status != tc.wantStatus || compact(body) != compact(tc.wantBody) {
				t.Errorf("status %d, body %s; want %d, %s", status, body, tc.wantStatus, tc.wantBody)
			}
			asked := f.store.queries()[before:]
			var want []metrics.Query
			if tc.wantAsked != nil {
				want = []metrics.Query{*tc.wantAsked}
			}
			if d := cmp.Diff(want, asked, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("queries asked of the store (-want +got):\n%s", d)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// compact drops the indentation and final newline the /v1 API's error
// writer adds, so bodies of both writers compare.
func compact(s string) string {
	var b strings.Builder
	inString := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' && (i == 0 || s[i-1] != '\\') {
			inString = !inString
		}
		if !inString && (c == ' ' || c == '\n') {
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func TestResponse(t *testing.T) {
	f := newFixture(t, 0)
	f.store.answer = []metrics.Series{
		{Measurement: "cpu", Field: "usage", Tags: map[string]string{"cpu": "cpu0", "node": "web-1"}, Samples: []metrics.Sample{
			{Time: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), Value: 12.5},
			{Time: time.Date(2026, 11, 22, 10, 0, 10, 0, time.UTC), Value: -3},
			{Time: time.Date(2026, 11, 22, 11, 0, 10, 1, time.FixedZone("CET", 3600)), Value: 1e21},
			{Time: time.Date(2026, 11, 22, 10, 0, 30, 5e8, time.UTC), Value: 0.1},
		}},
		{Measurement: "cpu", Field: "usage", Tags: nil, Samples: nil},
	}
	status, body := f.get(t, "admin", "/v1/query/series?measurement=cpu&field=usage&step=10s")
	want := `{"series":[` +
		`{"measurement":"cpu","field":"usage","tags":{"cpu":"cpu0","node":"web-1"},"points":[` +
		`["2026-11-22T10:00:00Z",12.5],["2026-11-22T10:00:10Z",-3],["2026-11-22T10:00:10.000000001Z",1e+21],["2026-11-22T10:00:30.5Z",0.1]]},` +
		`{"measurement":"cpu","field":"usage","tags":{},"points":[]}]}` + "\n"
	if status != 200 || body != want {
		t.Errorf("got %d\n%s\nwant 200\n%s", status, body, want)
	}

	f.store.answer = nil
	status, body = f.get(t, "admin", "/v1/query/series?measurement=nope&field=usage")
	if want := `{"series":[]}` + "\n"; status != 200 || body != want {
		t.Errorf("empty answer: got %d %s; want 200 %s", status, body, want)
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name       string
		maxSamples int
		failure    error
		answer     int // samples in the store's answer, spread over 3 series
		query      string
		wantStatus int
		wantBody   string
		wantAsked  bool
	}{
		{name: "bad step", query: "measurement=cpu&field=usage&step=10x", wantStatus: 400,
			wantBody: `{"error":"step: time: unknown unit \"x\" in duration \"10x\""}`},
		{name: "missing field", query: "measurement=cpu", wantStatus: 400, wantBody: `{"error":"field: required"}`},
		{name: "unknown parameter", query: "measurement=cpu&field=usage&limit=5", wantStatus: 400,
			wantBody: `{"error":"limit: unknown parameter; want node, measurement, field, tag.\u003ckey\u003e, from, to, step or agg"}`},
		{name: "bad from", query: "measurement=cpu&field=usage&from=soon", wantStatus: 400,
			wantBody: `{"error":"from: \"soon\": want RFC 3339 (2026-11-22T10:00:00Z), Unix seconds, \"now\", or a duration from now such as \"-1h\""}`},
		{name: "store says invalid", failure: fmt.Errorf("checking: %w", errors.Join(metrics.ErrInvalidQuery, errors.New("agg must be mean, max, min or last"))),
			query: "measurement=cpu&field=usage", wantStatus: 400, wantAsked: true,
			wantBody: `{"error":"checking: invalid query\nagg must be mean, max, min or last"}`},
		{name: "store fails", failure: errors.New("disk on fire"), query: "measurement=cpu&field=usage", wantStatus: 500, wantAsked: true,
			wantBody: `{"error":"internal error; the registry's log has the cause"}`},
		{name: "store interrupted", failure: fmt.Errorf("reading: %w", context.Canceled), query: "measurement=cpu&field=usage", wantStatus: 503, wantAsked: true,
			wantBody: `{"error":"request interrupted; try again"}`},
		{name: "step too small for the cap", maxSamples: 100, query: "measurement=cpu&field=usage&step=10s", wantStatus: 400,
			wantBody: `{"error":"step: 10s over 1h0m0s makes 360 buckets per series, more than the limit of 100 samples; use a step of at least 36s"}`},
		{name: "step just within the cap", maxSamples: 360, query: "measurement=cpu&field=usage&step=10s", wantStatus: 200, wantAsked: true,
			wantBody: `{"series":[]}`},
		{name: "step rounding", maxSamples: 7, query: "measurement=cpu&field=usage&step=1ms", wantStatus: 400,
			wantBody: `{"error":"step: 1ms over 1h0m0s makes 3600000 buckets per series, more than the limit of 7 samples; use a step of at least 8m34.286s"}`},
		{name: "answer at the cap", maxSamples: 9, answer: 9, query: "measurement=cpu&field=usage", wantStatus: 200, wantAsked: true},
		{name: "raw answer over the cap", maxSamples: 9, answer: 10, query: "measurement=cpu&field=usage", wantStatus: 400, wantAsked: true,
			wantBody: `{"error":"step: the answer holds 10 samples, more than the limit of 9; narrow the range or the filters, or set a step to aggregate"}`},
		{name: "aggregated answer over the cap", maxSamples: 9, answer: 10, query: "measurement=cpu&field=usage&step=1h", wantStatus: 400, wantAsked: true,
			wantBody: `{"error":"step: the answer holds 10 samples, more than the limit of 9; narrow the range or the filters, or use a larger step"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.maxSamples)
			f.store.failure = tc.failure
			for i := range tc.answer {
				if i%4 == 0 {
					f.store.answer = append(f.store.answer, metrics.Series{Measurement: "cpu", Field: "usage"})
				}
				s := &f.store.answer[len(f.store.answer)-1]
				s.Samples = append(s.Samples, metrics.Sample{Time: now.Add(time.Duration(-i) * time.Second), Value: float64(i)})
			}
			status, body := f.get(t, "admin", "/v1/query/series?"+tc.query)
			if status != tc.wantStatus || (tc.wantBody != "" && compact(body) != compact(tc.wantBody)) {
				t.Errorf("got %d %s; want %d %s", status, body, tc.wantStatus, tc.wantBody)
			}
			if asked := len(f.store.queries()) > 0; asked != tc.wantAsked {
				t.Errorf("store asked: %v; want %v", asked, tc.wantAsked)
			}
		})
	}
}

func TestOnlyGet(t *testing.T) {
	f := newFixture(t, 0)
	resp, err := http.Post(f.url+"/v1/query/series?measurement=cpu&field=usage", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || len(f.store.queries()) != 0 {
		t.Errorf("POST: status %d, %d queries; want 405 and none", resp.StatusCode, len(f.store.queries()))
	}
}
