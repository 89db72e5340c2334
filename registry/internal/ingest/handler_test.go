package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/registry/internal/store"
)

const inventoryJSON = `{"agent_version":"0.4.0","tags":{"site":"paris"},"plugins":[{"name":"system","version":"1.0.0","sha256":"` +
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" + `","state":"running"}]}`

func TestAccess(t *testing.T) {
	f := newFixture(t, Config{})
	if err := f.cat.TouchNode(context.Background(), "web-1", f.clock.now()); err != nil {
		t.Fatal(err)
	}
	point := []byte("cpu,node=web-1 v=1 1\n")
	endpoints := []struct {
		name string
		req  request
	}{
		{"POST /v1/write", request{method: "POST", path: "/v1/write", body: point}},
		{"POST /write", request{method: "POST", path: "/write?db=telegraf", auth: "basic", body: point}},
		{"POST /api/v2/write", request{method: "POST", path: "/api/v2/write?org=o&bucket=b", auth: "token", body: point}},
		{"PUT inventory", request{method: "PUT", path: "/v1/nodes/web-1/inventory", body: []byte(inventoryJSON)}},
		{"GET /v1/nodes", request{method: "GET", path: "/v1/nodes"}},
		{"GET /v1/nodes/web-1", request{method: "GET", path: "/v1/nodes/web-1"}},
		{"GET /ping", request{method: "GET", path: "/ping"}},
		{"HEAD /ping", request{method: "HEAD", path: "/ping"}},
		{"GET /health", request{method: "GET", path: "/health"}},
	}
	callers := []string{"", "secret:vgr_unknown", "publisher", "plugin", "agent2", "nonode", "agent", "admin"}
	// want[endpoint] is the status per caller, in the order of callers.
	want := map[string][]int{
		"POST /v1/write":      {401, 401, 403, 403, 400, 403, 204, 204}, // agent2: the point is web-1's
		"POST /write":         {401, 401, 403, 403, 400, 403, 204, 204},
		"POST /api/v2/write":  {401, 401, 403, 403, 400, 403, 204, 204},
		"PUT inventory":       {401, 401, 403, 403, 403, 403, 204, 204},
		"GET /v1/nodes":       {401, 401, 403, 403, 200, 403, 200, 200},
		"GET /v1/nodes/web-1": {401, 401, 403, 403, 403, 403, 200, 200},
		"GET /ping":           {204, 204, 204, 204, 204, 204, 204, 204},
		"HEAD /ping":          {204, 204, 204, 204, 204, 204, 204, 204},
		"GET /health":         {200, 200, 200, 200, 200, 200, 200, 200},
	}
	for _, ep := range endpoints {
		t.Run(ep.name, func(t *testing.T) {
			var got []int
			for _, who := range callers {
				r := ep.req
				r.who = who
				resp := f.do(r)
				got = append(got, resp.status)
				if resp.status >= 400 && !bytes.Contains(resp.body, []byte(`"`)) {
					t.Errorf("%s as %q: %d with no message: %q", ep.name, who, resp.status, resp.body)
				}
			}
			if diff := cmp.Diff(want[ep.name], got); diff != "" {
				t.Errorf("statuses for %v (-want +got):\n%s", callers, diff)
			}
		})
	}
}

func TestErrorMessages(t *testing.T) {
	f := newFixture(t, Config{})
	tests := []struct {
		name string
		req  request
		want any
	}{{
		name: "missing token",
		req:  request{method: "POST", path: "/v1/write", body: []byte("cpu v=1\n")},
		want: map[string]any{"error": "missing token: send Authorization: Bearer <token>"},
	}, {
		name: "unknown token on the InfluxDB 2 endpoint",
		req:  request{method: "POST", path: "/api/v2/write?bucket=b", who: "secret:nope", auth: "token", body: []byte("cpu v=1\n")},
		want: map[string]any{"code": "unauthorized", "message": "unknown or revoked token: " + tokenHelp},
	}, {
		name: "agent token with no node",
		req:  request{method: "POST", path: "/v1/write", who: "nonode", body: []byte("cpu v=1\n")},
		want: map[string]any{"error": "this agent token is bound to no node, so its points cannot be attributed: " + tokenHelp},
	}, {
		name: "publisher token",
		req:  request{method: "POST", path: "/write?db=x", who: "publisher", auth: "query", body: []byte("cpu v=1\n")},
		want: map[string]any{"error": "forbidden for this publisher token: only agent tokens (and the admin) may write points"},
	}, {
		name: "plugin key on the InfluxDB 2 endpoint",
		req:  request{method: "POST", path: "/api/v2/write?bucket=b", who: "plugin", auth: "token", body: []byte("cpu v=1\n")},
		want: map[string]any{"code": "forbidden", "message": `forbidden for this plugin key of "system": only agent tokens (and the admin) may write points`},
	}, {
		name: "another node's inventory",
		req:  request{method: "PUT", path: "/v1/nodes/web-1/inventory", who: "agent2", body: []byte(inventoryJSON)},
		want: map[string]any{"error": `forbidden for this agent token: it is for node "web-2", not "web-1"`},
	}, {
		name: "InfluxDB 1 without db",
		req:  request{method: "POST", path: "/write", who: "agent", auth: "basic", body: []byte("cpu v=1\n")},
		want: map[string]any{"error": "database is required: add ?db=<name> (any name: the registry keeps every point in its one metrics store)"},
	}, {
		name: "InfluxDB 2 without bucket",
		req:  request{method: "POST", path: "/api/v2/write?org=o", who: "agent", auth: "token", body: []byte("cpu v=1\n")},
		want: map[string]any{"code": "invalid", "message": "bucket is required: add ?bucket=<name> (any name: the registry keeps every point in its one metrics store)"},
	}, {
		name: "unknown precision",
		req:  request{method: "POST", path: "/api/v2/write?bucket=b&precision=h", who: "agent", auth: "token", body: []byte("cpu v=1\n")},
		want: map[string]any{"code": "invalid", "message": `unknown precision "h": want ns (default), us, ms or s`},
	}, {
		name: "bad batch id",
		req:  request{method: "POST", path: "/v1/write", who: "agent", body: []byte("cpu v=1\n"), header: map[string]string{BatchIDHeader: "a b"}},
		want: map[string]any{"error": "Vigil-Batch-Id may hold only printable ASCII without spaces"},
	}, {
		name: "unsupported encoding",
		req:  request{method: "POST", path: "/v1/write", who: "agent", body: []byte("cpu v=1\n"), header: map[string]string{"Content-Encoding": "br"}},
		want: map[string]any{"error": `unsupported Content-Encoding "br": send gzip or plain line protocol`},
	}, {
		name: "not gzip",
		req:  request{method: "POST", path: "/v1/write", who: "agent", body: []byte("cpu v=1 1\ncpu v=2 2\n"), header: map[string]string{"Content-Encoding": "gzip"}},
		want: map[string]any{"error": "body is not valid gzip: gzip: invalid header"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := f.do(tt.req)
			if diff := cmp.Diff(tt.want, jsonOf(t, resp.body)); diff != "" {
				t.Errorf("%d answer (-want +got):\n%s", resp.status, diff)
			}
		})
	}
	if got := f.metrics.got(); len(got) != 0 {
		t.Errorf("stored %v", got)
	}
}

func TestPartialWrite(t *testing.T) {
	f := newFixture(t, Config{})
	body := "cpu,host=a v=1 1\n" +
		"cpu,host= v=2 2\n" + // empty tag value
		"cpu,host=b v=3 3\n" +
		"cpu,host=c,node=web-9 v=4 4\n" + // another node
		"cpu,host=d v=5 5x\n" // bad timestamp
	for _, tc := range []struct {
		name string
		req  request
		want map[string]any
	}{{
		name: "vigil",
		req:  request{method: "POST", path: "/v1/write", who: "agent", body: []byte(body)},
		want: map[string]any{"error": `partial write: 3 of 5 lines rejected; first: 2:10: expected tag value after tag key "host", but none found`},
	}, {
		name: "influxdb 2",
		req:  request{method: "POST", path: "/api/v2/write?bucket=b", who: "agent", auth: "token", body: []byte(body), gzip: true},
		want: map[string]any{"code": "invalid", "line": 2.0,
			"message": `partial write: 3 of 5 lines rejected; first: 2:10: expected tag value after tag key "host", but none found`},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.metrics.got())
			resp := f.do(tc.req)
			want := tc.want
			want["stored"], want["rejected"] = 2.0, 3.0
			want["lines"] = []any{
				map[string]any{"line": 2.0, "column": 10.0, "error": `expected tag value after tag key "host", but none found`},
				map[string]any{"line": 4.0, "column": 12.0, "error": `point for node "web-9" but the token is for node "web-1"`},
				map[string]any{"line": 5.0, "column": 16.0, "error": `invalid timestamp ("5x")`},
			}
			if resp.status != http.StatusBadRequest {
				t.Errorf("status %d, want 400", resp.status)
			}
			if diff := cmp.Diff(any(want), jsonOf(t, resp.body)); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
			stored := []string{"cpu host=a,node=web-1 v=1 1", "cpu host=b,node=web-1 v=3 3"}
			if diff := cmp.Diff(stored, f.metrics.got()[before:]); diff != "" {
				t.Errorf("stored (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAllLinesBad(t *testing.T) {
	f := newFixture(t, Config{})
	resp := f.write("agent", "cpu\nmem v=\n", nil)
	want := map[string]any{
		"error":  `partial write: 2 of 2 lines rejected; first: 1:4: expected tag key or field but found '\n' instead`,
		"stored": 0.0, "rejected": 2.0,
		"lines": []any{
			map[string]any{"line": 1.0, "column": 4.0, "error": `expected tag key or field but found '\n' instead`},
			map[string]any{"line": 2.0, "column": 7.0, "error": "field value has unrecognized type"},
		},
	}
	if resp.status != http.StatusBadRequest {
		t.Errorf("status %d, want 400", resp.status)
	}
	if diff := cmp.Diff(any(want), jsonOf(t, resp.body)); diff != "" {
		t.Errorf("answer (-want +got):\n%s", diff)
	}
	if f.metrics.writes != 0 {
		t.Errorf("%d writes to the metrics store, want none", f.metrics.writes)
	}
}

func TestBodyLimits(t *testing.T) {
	const maxBody, maxDecompressed = 64 << 10, 1 << 20
	f := newFixture(t, Config{MaxBody: maxBody, MaxDecompressed: maxDecompressed})
	line := "cpu,host=a v=1 1\n"
	big := []byte(strings.Repeat(line, maxBody/len(line)+1))

	t.Run("Content-Length over the limit", func(t *testing.T) {
		resp := f.do(request{method: "POST", path: "/v1/write", who: "agent", body: big})
		want := map[string]any{"error": fmt.Sprintf("request body is %d bytes, over the limit of %d: send smaller batches", len(big), maxBody)}
		if resp.status != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d, want 413", resp.status)
		}
		if diff := cmp.Diff(any(want), jsonOf(t, resp.body)); diff != "" {
			t.Errorf("answer (-want +got):\n%s", diff)
		}
	})
	t.Run("chunked body over the limit", func(t *testing.T) {
		req, err := http.NewRequest("POST", f.url+"/api/v2/write?bucket=b", io.MultiReader(bytes.NewReader(big))) // no length: chunked
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Token "+f.tokens["agent"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		want := map[string]any{"code": "request too large", "message": fmt.Sprintf("request body is over the limit of %d bytes: send smaller batches", maxBody)}
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d, want 413", resp.StatusCode)
		}
		if diff := cmp.Diff(any(want), jsonOf(t, b)); diff != "" {
			t.Errorf("answer (-want +got):\n%s", diff)
		}
	})
	t.Run("gzip bomb", func(t *testing.T) {
		// 48 gzip members of 1 MiB of zeros each: some 50 KiB, under the
		// body limit, inflating to 48 MiB.
		bomb := bytes.Repeat(gzipBytes(t, make([]byte, 1<<20)), 48)
		if len(bomb) >= maxBody {
			t.Fatalf("the bomb is %d bytes, over the body limit", len(bomb))
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		resp := f.do(request{method: "POST", path: "/v1/write", who: "agent", body: bomb, header: map[string]string{"Content-Encoding": "gzip"}})
		runtime.ReadMemStats(&after)
		want := map[string]any{"error": fmt.Sprintf("body is over %d bytes once decompressed: send smaller batches", maxDecompressed)}
		if resp.status != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d, want 413", resp.status)
		}
		if diff := cmp.Diff(any(want), jsonOf(t, resp.body)); diff != "" {
			t.Errorf("answer (-want +got):\n%s", diff)
		}
		// Bounded decompression: the request allocated a few times the
		// 1 MiB limit at most, not the 48 MiB the bomb inflates to.
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
			t.Errorf("the request allocated %d bytes, want a bounded amount", alloc)
		}
	})
	if got := f.metrics.got(); len(got) != 0 {
		t.Errorf("stored %d points from over-limit bodies", len(got))
	}
	want := Stats{Requests: 3, BytesReceived: f.h.Stats().BytesReceived, BytesDecoded: 0}
	if diff := cmp.Diff(want, f.h.Stats()); diff != "" || want.BytesReceived == 0 {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

func TestReplay(t *testing.T) {
	f := newFixture(t, Config{})
	batch := map[string]string{BatchIDHeader: "b-1"}
	for i, who := range []string{"agent", "agent", "agent2"} {
		resp := f.write(who, "cpu v=1 1\n", batch)
		if resp.status != http.StatusNoContent {
			t.Fatalf("write %d: %d %s", i, resp.status, resp.body)
		}
		wantReplay := map[int]string{1: "true"}[i] // the same node's second send; another node's id is its own
		if got := resp.header.Get(ReplayHeader); got != wantReplay {
			t.Errorf("write %d: %s %q, want %q", i, ReplayHeader, got, wantReplay)
		}
	}
	want := []string{"cpu node=web-1 v=1 1", "cpu node=web-2 v=1 1"}
	if diff := cmp.Diff(want, f.metrics.got()); diff != "" {
		t.Errorf("stored (-want +got):\n%s", diff)
	}
	if got := f.h.Stats().BatchesReplayed; got != 1 {
		t.Errorf("BatchesReplayed %d, want 1", got)
	}

	// A batch whose write failed is written when retried.
	f.metrics.setFail(errors.New("disk on fire"))
	batch = map[string]string{BatchIDHeader: "b-2"}
	if resp := f.write("agent", "cpu v=2 2\n", batch); resp.status != http.StatusInternalServerError {
		t.Fatalf("failing write: %d %s", resp.status, resp.body)
	}
	f.metrics.setFail(nil)
	if resp := f.write("agent", "cpu v=2 2\n", batch); resp.status != http.StatusNoContent || resp.header.Get(ReplayHeader) != "" {
		t.Fatalf("retry: %d %s %v", resp.status, resp.body, resp.header)
	}
	if resp := f.write("agent", "cpu v=2 2\n", batch); resp.header.Get(ReplayHeader) != "true" {
		t.Fatalf("second retry: %d %s %v, want a replay", resp.status, resp.body, resp.header)
	}
	want = append(want, "cpu node=web-1 v=2 2")
	if diff := cmp.Diff(want, f.metrics.got()); diff != "" {
		t.Errorf("stored (-want +got):\n%s", diff)
	}
}

func TestForgetBatches(t *testing.T) {
	f := newFixture(t, Config{DedupeWindow: time.Hour})
	batch := map[string]string{BatchIDHeader: "b-1"}
	f.write("agent", "cpu v=1 1\n", batch)
	f.clock.add(30 * time.Minute)
	f.h.forgetBatches()
	if resp := f.write("agent", "cpu v=1 1\n", batch); resp.header.Get(ReplayHeader) != "true" {
		t.Errorf("within the window: %d %v, want a replay", resp.status, resp.header)
	}
	f.clock.add(31 * time.Minute)
	f.h.forgetBatches()
	if resp := f.write("agent", "cpu v=1 1\n", batch); resp.status != http.StatusNoContent || resp.header.Get(ReplayHeader) != "" {
		t.Errorf("after the window: %d %v, want it written", resp.status, resp.header)
	}
	if got := len(f.metrics.got()); got != 2 {
		t.Errorf("%d points stored, want 2", got)
	}
}

func TestStoreErrors(t *testing.T) {
	f := newFixture(t, Config{})
	f.metrics.setFail(fmt.Errorf("writing: %w", overloaded{}))
	resp := f.do(request{method: "POST", path: "/api/v2/write?bucket=b", who: "agent", auth: "token", body: []byte("cpu v=1\n")})
	if resp.status != http.StatusServiceUnavailable || resp.header.Get("Retry-After") != "3" {
		t.Errorf("overloaded store: %d Retry-After %q, want 503 and 3", resp.status, resp.header.Get("Retry-After"))
	}
	if diff := cmp.Diff(any(map[string]any{"code": "unavailable", "message": "the metrics store is overloaded: retry later"}), jsonOf(t, resp.body)); diff != "" {
		t.Errorf("answer (-want +got):\n%s", diff)
	}
	f.metrics.setFail(errors.New("disk on fire"))
	resp = f.write("agent", "cpu v=1\n", nil)
	if diff := cmp.Diff(any(map[string]any{"error": "internal error; the registry's log has the cause"}), jsonOf(t, resp.body)); diff != "" || resp.status != 500 {
		t.Errorf("%d answer (-want +got):\n%s", resp.status, diff)
	}
	if got := f.h.Stats().Failed; got != 2 {
		t.Errorf("Failed %d, want 2", got)
	}
}

func TestUnapproved(t *testing.T) {
	body := "a,plugin=system v=1 1\n" + // approved 1.0.0 in web-1's inventory
		"b,plugin=rogue v=1 2\n" + // 2.0.0 is pending
		"c,plugin=ghost v=1 3\n" + // not in the inventory
		"d,plugin=vigil v=1 4\n" + // built in
		"e,plugin=old v=1 5\n" // 0.9.0 was withdrawn
	inventory := `{"agent_version":"0.4.0","plugins":[{"name":"system","version":"1.0.0"},{"name":"rogue","version":"2.0.0"},{"name":"old","version":"0.9.0"}]}`
	tests := []struct {
		policy     string
		status     int
		stored     []string
		unapproved uint64
		rejected   []any
	}{{
		policy: "", // flag, the default
		status: 204,
		stored: []string{
			"a node=web-1,plugin=system v=1 1",
			"b node=web-1,plugin=rogue,unapproved=true v=1 2",
			"c node=web-1,plugin=ghost,unapproved=true v=1 3",
			"d node=web-1,plugin=vigil v=1 4",
			"e node=web-1,plugin=old,unapproved=true v=1 5",
			"f node=web-2,plugin=system,unapproved=true v=1 6", // web-2 has no inventory
		},
		unapproved: 4,
	}, {
		policy: UnapprovedReject,
		status: 400,
		stored: []string{
			"a node=web-1,plugin=system v=1 1",
			"d node=web-1,plugin=vigil v=1 4",
			"f node=web-2,plugin=system,unapproved=true v=1 6", // no inventory: flagged, not rejected
		},
		unapproved: 1,
		rejected: []any{
			map[string]any{"line": 2.0, "column": 3.0, "error": `plugin "rogue" 2.0.0 is pending, not an approved release`},
			map[string]any{"line": 3.0, "column": 3.0, "error": `plugin "ghost" is not in node "web-1"'s inventory, so no approved release covers it`},
			map[string]any{"line": 5.0, "column": 3.0, "error": `plugin "old" 0.9.0 is withdrawn, not an approved release`},
		},
	}}
	for _, tt := range tests {
		t.Run("policy "+tt.policy, func(t *testing.T) {
			f := newFixture(t, Config{Unapproved: tt.policy})
			f.release("system", "1.0.0", store.Approved)
			f.release("rogue", "2.0.0", store.Pending)
			f.release("old", "0.9.0", store.Withdrawn)
			if resp := f.do(request{method: "PUT", path: "/v1/nodes/web-1/inventory", who: "agent", body: []byte(inventory)}); resp.status != 204 {
				t.Fatalf("inventory: %d %s", resp.status, resp.body)
			}
			resp := f.write("agent", body, nil)
			if resp.status != tt.status {
				t.Errorf("status %d, want %d: %s", resp.status, tt.status, resp.body)
			}
			if tt.rejected != nil {
				got := jsonOf(t, resp.body).(map[string]any)["lines"]
				if diff := cmp.Diff(any(tt.rejected), got); diff != "" {
					t.Errorf("rejected lines (-want +got):\n%s", diff)
				}
			}
			f.write("agent2", "f,plugin=system v=1 6\n", nil)
			if diff := cmp.Diff(tt.stored, f.metrics.got()); diff != "" {
				t.Errorf("stored (-want +got):\n%s", diff)
			}
			if got := f.h.Stats().PointsUnapproved; got != tt.unapproved {
				t.Errorf("PointsUnapproved %d, want %d", got, tt.unapproved)
			}
		})
	}
}

// TestApprovalFollowsTheCatalog checks that an approval takes effect once
// the cache has expired, and a new inventory at once.
func TestApprovalFollowsTheCatalog(t *testing.T) {
	f := newFixture(t, Config{ApprovalTTL: time.Minute})
	f.release("system", "1.0.0", store.Pending)
	for _, to := range []store.State{store.Evaluating, store.Passed} {
		if _, err := f.st.TransitionRelease(context.Background(), "system", "1.0.0", to, "evaluator", "test"); err != nil {
			t.Fatal(err)
		}
	}
	inv := func(version string) {
		t.Helper()
		body := `{"agent_version":"0.4.0","plugins":[{"name":"system","version":"` + version + `"}]}`
		if resp := f.do(request{method: "PUT", path: "/v1/nodes/web-1/inventory", who: "agent", body: []byte(body)}); resp.status != 204 {
			t.Fatalf("inventory: %d %s", resp.status, resp.body)
		}
	}
	inv("1.0.0")
	f.write("agent", "a,plugin=system v=1 1\n", nil)
	if _, err := f.st.TransitionRelease(context.Background(), "system", "1.0.0", store.Approved, "admin:1", "ok"); err != nil {
		t.Fatal(err)
	}
	f.write("agent", "a,plugin=system v=1 2\n", nil) // cached: still unapproved
	f.clock.add(time.Minute)
	f.write("agent", "a,plugin=system v=1 3\n", nil)
	inv("1.1.0") // no such release: unapproved at once
	f.write("agent", "a,plugin=system v=1 4\n", nil)
	want := []string{
		"a node=web-1,plugin=system,unapproved=true v=1 1",
		"a node=web-1,plugin=system,unapproved=true v=1 2",
		"a node=web-1,plugin=system v=1 3",
		"a node=web-1,plugin=system,unapproved=true v=1 4",
	}
	if diff := cmp.Diff(want, f.metrics.got()); diff != "" {
		t.Errorf("stored (-want +got):\n%s", diff)
	}
}

func TestPrecision(t *testing.T) {
	f := newFixture(t, Config{})
	now := f.clock.now().UnixNano()
	tests := []struct {
		path, auth, body string
		want             string
	}{
		{"/v1/write", "", "cpu v=1 5", "cpu node=web-1 v=1 5"},
		{"/v1/write?precision=ns", "", "cpu v=1 5", "cpu node=web-1 v=1 5"},
		{"/v1/write?precision=u", "", "cpu v=1 5", "cpu node=web-1 v=1 5000"},
		{"/v1/write?precision=us", "", "cpu v=1 5", "cpu node=web-1 v=1 5000"},
		{"/v1/write?precision=ms", "", "cpu v=1 5", "cpu node=web-1 v=1 5000000"},
		{"/v1/write?precision=s", "", "cpu v=1 5", "cpu node=web-1 v=1 5000000000"},
		{"/v1/write?precision=s", "", "cpu v=1", fmt.Sprintf("cpu node=web-1 v=1 %d", now)},
		{"/write?db=d&precision=n", "basic", "cpu v=1 5", "cpu node=web-1 v=1 5"},
		{"/write?db=d&precision=u", "basic", "cpu v=1 5", "cpu node=web-1 v=1 5000"},
		{"/write?db=d&precision=ms", "basic", "cpu v=1 5", "cpu node=web-1 v=1 5000000"},
		{"/write?db=d&precision=s", "basic", "cpu v=1 5", "cpu node=web-1 v=1 5000000000"},
		{"/write?db=d&precision=m", "basic", "cpu v=1 5", "cpu node=web-1 v=1 300000000000"},
		{"/write?db=d&precision=h", "basic", "cpu v=1 5", "cpu node=web-1 v=1 18000000000000"},
		{"/api/v2/write?bucket=b&precision=ns", "token", "cpu v=1 5", "cpu node=web-1 v=1 5"},
		{"/api/v2/write?bucket=b&precision=us", "token", "cpu v=1 5", "cpu node=web-1 v=1 5000"},
		{"/api/v2/write?bucket=b&precision=ms", "token", "cpu v=1 5", "cpu node=web-1 v=1 5000000"},
		{"/api/v2/write?bucket=b&precision=s", "token", "cpu v=1 5", "cpu node=web-1 v=1 5000000000"},
	}
	for _, tt := range tests {
		before := len(f.metrics.got())
		resp := f.do(request{method: "POST", path: tt.path, who: "agent", auth: tt.auth, body: []byte(tt.body)})
		if resp.status != 204 {
			t.Errorf("%s: %d %s", tt.path, resp.status, resp.body)
			continue
		}
		if diff := cmp.Diff([]string{tt.want}, f.metrics.got()[before:]); diff != "" {
			t.Errorf("%s %q (-want +got):\n%s", tt.path, tt.body, diff)
		}
	}
	for _, bad := range []string{"/v1/write?precision=m", "/write?db=d&precision=x", "/api/v2/write?bucket=b&precision=n"} {
		if resp := f.do(request{method: "POST", path: bad, who: "agent", auth: "token", body: []byte("cpu v=1 5")}); resp.status != 400 {
			t.Errorf("%s: %d, want 400", bad, resp.status)
		}
	}
}

// TestTelegraf sends exactly what Telegraf's outputs send.
func TestTelegraf(t *testing.T) {
	f := newFixture(t, Config{})
	metricsLP := "cpu,cpu=cpu-total,host=web-1 usage_idle=98.5,usage_user=1.5 1714564800000000000\n" +
		"mem,host=web-1 used=1024i,available_percent=50.5 1714564800000000000\n"
	want := []string{
		"cpu cpu=cpu-total,host=web-1,node=web-1 usage_idle=98.5,usage_user=1.5 1714564800000000000",
		"mem host=web-1,node=web-1 used=1024i,available_percent=50.5 1714564800000000000",
	}

	t.Run("influxdb output (1.x)", func(t *testing.T) {
		before := len(f.metrics.got())
		// On start it creates its database.
		form := "q=" + strings.ReplaceAll(`CREATE+DATABASE+%22telegraf%22`, " ", "+")
		resp := f.do(request{method: "POST", path: "/query", who: "agent", auth: "basic", body: []byte(form), header: map[string]string{
			"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "Telegraf/1.30.0 Go/1.22.1"}})
		if diff := cmp.Diff(any(map[string]any{"results": []any{map[string]any{"statement_id": 0.0}}}), jsonOf(t, resp.body)); diff != "" || resp.status != 200 {
			t.Errorf("CREATE DATABASE: %d (-want +got):\n%s", resp.status, diff)
		}
		resp = f.do(request{method: "POST", path: "/write?consistency=any&db=telegraf", who: "agent", auth: "basic", gzip: true,
			body: []byte(metricsLP), header: map[string]string{"Content-Type": "text/plain; charset=utf-8", "User-Agent": "Telegraf/1.30.0 Go/1.22.1"}})
		if resp.status != 204 || resp.header.Get("X-Influxdb-Version") == "" {
			t.Errorf("write: %d %v %s", resp.status, resp.header, resp.body)
		}
		if diff := cmp.Diff(want, f.metrics.got()[before:]); diff != "" {
			t.Errorf("stored (-want +got):\n%s", diff)
		}
	})
	t.Run("influxdb_v2 output", func(t *testing.T) {
		before := len(f.metrics.got())
		resp := f.do(request{method: "POST", path: "/api/v2/write?bucket=telegraf&org=vigil&precision=ns", who: "agent", auth: "token", gzip: true,
			body: []byte(metricsLP), header: map[string]string{"Content-Type": "text/plain; charset=utf-8", "User-Agent": "Telegraf/1.30.0 Go/1.22.1"}})
		if resp.status != 204 {
			t.Errorf("write: %d %s", resp.status, resp.body)
		}
		// Older Telegrafs send no precision and an empty org.
		resp = f.do(request{method: "POST", path: "/api/v2/write?bucket=telegraf&org=", who: "agent", auth: "token", gzip: true,
			body: []byte(metricsLP), header: map[string]string{"Content-Type": "text/plain; charset=utf-8", "User-Agent": "Telegraf/1.20.0"}})
		if resp.status != 204 {
			t.Errorf("write: %d %s", resp.status, resp.body)
		}
		if diff := cmp.Diff(append(want, want...), f.metrics.got()[before:]); diff != "" {
			t.Errorf("stored (-want +got):\n%s", diff)
		}
	})
	t.Run("other queries", func(t *testing.T) {
		resp := f.do(request{method: "GET", path: "/query?q=SELECT+*+FROM+cpu", who: "agent", auth: "query"})
		if resp.status != 400 {
			t.Errorf("SELECT: %d %s, want 400", resp.status, resp.body)
		}
	})
}

func TestPingAndHealth(t *testing.T) {
	f := newFixture(t, Config{Version: "0.4.0"})
	for _, method := range []string{"GET", "HEAD"} {
		resp := f.do(request{method: method, path: "/ping"})
		got := map[string]string{}
		for _, h := range []string{"X-Influxdb-Version", "X-Influxdb-Build", "Vigil-Registry"} {
			got[h] = resp.header.Get(h)
		}
		want := map[string]string{"X-Influxdb-Version": InfluxVersion, "X-Influxdb-Build": "OSS", "Vigil-Registry": "0.4.0"}
		if diff := cmp.Diff(want, got); diff != "" || resp.status != 204 || len(resp.body) != 0 {
			t.Errorf("%s /ping: %d %q (-want +got):\n%s", method, resp.status, resp.body, diff)
		}
	}
	resp := f.do(request{method: "GET", path: "/ping?verbose=true"})
	if diff := cmp.Diff(any(map[string]any{"version": InfluxVersion}), jsonOf(t, resp.body)); diff != "" || resp.status != 200 {
		t.Errorf("verbose ping: %d (-want +got):\n%s", resp.status, diff)
	}
	resp = f.do(request{method: "GET", path: "/health"})
	want := map[string]any{"name": "vigil-registry", "message": "ready for queries and writes", "status": "pass", "checks": []any{}, "version": "0.4.0"}
	if diff := cmp.Diff(any(want), jsonOf(t, resp.body)); diff != "" || resp.status != 200 {
		t.Errorf("health: %d (-want +got):\n%s", resp.status, diff)
	}
	if ct := resp.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("health Content-Type %q", ct)
	}
}

func TestStats(t *testing.T) {
	f := newFixture(t, Config{})
	lp := []byte("cpu v=1 1\ncpu v=2 2\nbad\n")
	f.do(request{method: "POST", path: "/v1/write", who: "agent", body: lp, gzip: true, header: map[string]string{BatchIDHeader: "x"}})
	f.do(request{method: "POST", path: "/v1/write", who: "agent", body: lp, gzip: true, header: map[string]string{BatchIDHeader: "x"}})
	f.write("agent", "c,plugin=nope v=1\n", nil)
	f.write("", "cpu v=1\n", nil)
	zipped := uint64(len(gzipBytes(t, lp)))
	want := Stats{
		Requests: 4, PointsStored: 3, LinesRejected: 1, PointsUnapproved: 1, BatchesReplayed: 1, // the replay's bad line is not counted again
		BytesReceived: 2*zipped + uint64(len("c,plugin=nope v=1\n")),
		BytesDecoded:  2*uint64(len(lp)) + uint64(len("c,plugin=nope v=1\n")),
	}
	if diff := cmp.Diff(want, f.h.Stats()); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

// TestMountBesideAPI mounts the handler on Routes() in a mux whose "/" is
// another handler, as the registry's server does with the /v1 API.
func TestMountBesideAPI(t *testing.T) {
	h := New(Config{})
	mux := http.NewServeMux()
	for _, p := range h.Routes() {
		mux.Handle(p, h)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	for _, tc := range []struct{ method, path string }{
		{"POST", "/v1/write"}, {"POST", "/write"}, {"POST", "/api/v2/write"}, {"GET", "/ping"}, {"HEAD", "/ping"},
		{"GET", "/health"}, {"POST", "/query"}, {"GET", "/v1/nodes"}, {"GET", "/v1/nodes/a"}, {"PUT", "/v1/nodes/a/inventory"},
	} {
		if _, pattern := mux.Handler(httptest.NewRequest(tc.method, tc.path, nil)); pattern == "/" || pattern == "" {
			t.Errorf("%s %s is not routed to ingest (pattern %q)", tc.method, tc.path, pattern)
		}
	}
	if _, pattern := mux.Handler(httptest.NewRequest("GET", "/v1/plugins", nil)); pattern != "/" {
		t.Errorf("GET /v1/plugins went to %q, want the API", pattern)
	}
}
