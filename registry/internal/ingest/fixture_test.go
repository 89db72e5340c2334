package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/vigilmon/vigil/registry/internal/metrics"
	"github.com/vigilmon/vigil/registry/internal/store"
	"github.com/vigilmon/vigil/registry/internal/store/sqlite"
)

// recordingStore is a metrics store that keeps what it was given,
// rendered, and fails with fail when set.
type recordingStore struct {
	mu     sync.Mutex
	points []string
	writes int
	fail   error
}

func (s *recordingStore) Write(_ context.Context, pts []metrics.Point) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.writes++
	for _, p := range pts {
		s.points = append(s.points, render(p))
	}
	return nil
}

func (s *recordingStore) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.points...)
}

func (s *recordingStore) setFail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}

// overloaded is a metrics store error asking the client to come back.
type overloaded struct{}

func (overloaded) Error() string             { return "queue full" }
func (overloaded) RetryAfter() time.Duration { return 3 * time.Second }

// fixture is ingest over real HTTP on 127.0.0.1 with a real SQLite catalog.
type fixture struct {
	t       testing.TB
	url     string
	h       *Handler
	st      store.Store
	cat     Catalog
	metrics *recordingStore
	clock   *clock
	// tokens by who: admin, publisher, plugin (key of "system"),
	// agent (node web-1), agent2 (node web-2), nonode (agent, no node)
	tokens map[string]string
}

// clock is a settable time for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newFixture starts ingest with cfg: its Catalog and Now are filled in,
// and its Metrics unless set (then f.metrics records nothing).
func newFixture(t testing.TB, cfg Config) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cat, ok := st.(Catalog)
	if !ok {
		t.Fatal("the SQLite store does not provide what ingest needs (store.Fleet)")
	}
	f := &fixture{t: t, st: st, cat: cat, metrics: &recordingStore{}, tokens: map[string]string{},
		clock: &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}}
	cfg.Catalog, cfg.Now = cat, f.clock.now
	if cfg.Metrics == nil {
		cfg.Metrics = f.metrics
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	f.h = New(cfg)
	t.Cleanup(func() { f.h.Close() })
	srv := httptest.NewServer(f.h)
	t.Cleanup(srv.Close)
	f.url = srv.URL

	pub, err := st.CreatePublisher(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreatePlugin(ctx, store.Plugin{Name: "system", Owner: pub.ID}); err != nil {
		t.Fatal(err)
	}
	for who, c := range map[string]store.Credential{
		"admin":     {Role: store.RoleAdmin},
		"publisher": {Role: store.RolePublisher, Publisher: pub.ID},
		"plugin":    {Role: store.RolePlugin, Plugin: "system"},
		"agent":     {Role: store.RoleAgent, Node: "web-1"},
		"agent2":    {Role: store.RoleAgent, Node: "web-2"},
		"nonode":    {Role: store.RoleAgent},
	} {
		secret, hash := store.NewSecret()
		c.Hash = hash
		if _, err := st.CreateCredential(ctx, c); err != nil {
			t.Fatal(err)
		}
		f.tokens[who] = secret
	}
	return f
}

// release creates plugin at version (registering the plugin if needed)
// and moves it through the lifecycle to state.
func (f *fixture) release(plugin, version string, state store.State) {
	f.t.Helper()
	ctx := context.Background()
	if _, err := f.st.Plugin(ctx, plugin); err != nil {
		pubs, err := f.st.ListPublishers(ctx)
		if err != nil {
			f.t.Fatal(err)
		}
		if _, err := f.st.CreatePlugin(ctx, store.Plugin{Name: plugin, Owner: pubs[0].ID}); err != nil {
			f.t.Fatal(err)
		}
	}
	if _, err := f.st.CreateRelease(ctx, store.NewRelease{Plugin: plugin, Version: version, Manifest: json.RawMessage(`{}`), Actor: "test"}); err != nil {
		f.t.Fatal(err)
	}
	path := map[store.State][]store.State{
		store.Pending:   nil,
		store.Approved:  {store.Evaluating, store.Passed, store.Approved},
		store.Rejected:  {store.Evaluating, store.Passed, store.Rejected},
		store.Withdrawn: {store.Evaluating, store.Passed, store.Approved, store.Withdrawn},
	}[state]
	for _, to := range path {
		if _, err := f.st.TransitionRelease(ctx, plugin, version, to, "admin:1", "test"); err != nil {
			f.t.Fatal(err)
		}
	}
}

// request is one HTTP request a test sends.
type request struct {
	method, path string
	who          string // a key of tokens, "" for none, or a literal "secret:<s>"
	auth         string // how the token is sent: "" (Bearer), "token", "basic", "query"
	body         []byte
	gzip         bool
	header       map[string]string
}

// response is what came back.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (f *fixture) do(r request) response {
	f.t.Helper()
	body := r.body
	if r.gzip {
		body = gzipBytes(f.t, body)
	}
	req, err := http.NewRequest(r.method, f.url+r.path, bytes.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	secret, ok := f.tokens[r.who]
	if !ok && len(r.who) > len("secret:") && r.who[:len("secret:")] == "secret:" {
		secret, ok = r.who[len("secret:"):], true
	}
	if ok {
		switch r.auth {
		case "":
			req.Header.Set("Authorization", "Bearer "+secret)
		case "token":
			req.Header.Set("Authorization", "Token "+secret)
		case "basic":
			req.SetBasicAuth("telegraf", secret)
		case "query":
			q := req.URL.Query()
			q.Set("u", "telegraf")
			q.Set("p", secret)
			req.URL.RawQuery = q.Encode()
		}
	}
	if r.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// write posts line protocol to /v1/write as who.
func (f *fixture) write(who, body string, header map[string]string) response {
	f.t.Helper()
	return f.do(request{method: "POST", path: "/v1/write", who: who, body: []byte(body), header: header})
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// jsonOf decodes a response body into a generic value for comparison.
func jsonOf(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("response is not JSON: %v: %s", err, b)
	}
	return v
}

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return s
}
