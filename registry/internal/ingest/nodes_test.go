package ingest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/registry/internal/store"
)

func TestInventoryValidation(t *testing.T) {
	f := newFixture(t, Config{})
	sha := strings.Repeat("ab", 32)
	tests := []struct {
		name, body string
		status     int
		want       any
	}{{
		name:   "unknown field",
		body:   `{"agent_version":"0.4.0","plugin":[]}`,
		status: 400,
		want:   map[string]any{"error": `decoding request body: unknown field "plugin"`},
	}, {
		name:   "not JSON",
		body:   `agent_version=0.4.0`,
		status: 400,
		want:   map[string]any{"error": "decoding request body: invalid character 'a' looking for beginning of value"},
	}, {
		name:   "every problem listed",
		body:   `{"agent_version":"","tags":{"":"x","k":""},"plugins":[{"name":"a","version":"1"},{"name":"a","version":"","sha256":"ABC","state":"ok\n"}]}`,
		status: 400,
		want: map[string]any{
			"error": "invalid inventory: agent_version is empty",
			"details": []any{
				"agent_version is empty",
				`tag key "" is empty`,
				"tags.k is empty",
				`plugins[1]: plugin "a" is listed twice`,
				"plugins[1].version is empty",
				"plugins[1].sha256 must be 64 lowercase hex digits",
				"plugins[1].state holds a control character",
			},
		},
	}, {
		name:   "too many plugins",
		body:   `{"agent_version":"1","plugins":[` + strings.TrimSuffix(strings.Repeat(`{"name":"p","version":"1"},`, maxPlugins+1), ",") + `]}`,
		status: 400,
	}, {
		name:   "too big",
		body:   `{"agent_version":"` + strings.Repeat("x", maxInventoryBody) + `"}`,
		status: 413,
		want:   map[string]any{"error": fmt.Sprintf("inventory is over %d bytes", maxInventoryBody)},
	}, {
		name:   "good",
		body:   `{"agent_version":"0.4.0","tags":{"site":"paris"},"plugins":[{"name":"system","version":"1.0.0","sha256":"` + sha + `","state":"running"}]}`,
		status: 204,
	}, {
		name:   "a failed plugin says why",
		body:   `{"agent_version":"0.4.0","plugins":[{"name":"net","version":"0.1.0","state":"failed","error":"config: paths is required"}]}`,
		status: 204,
	}, {
		name:   "error too long",
		body:   `{"agent_version":"0.4.0","plugins":[{"name":"net","version":"0.1.0","state":"failed","error":"` + strings.Repeat("e", maxErrorLen+1) + `"}]}`,
		status: 400,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := f.do(request{method: "PUT", path: "/v1/nodes/web-1/inventory", who: "agent", body: []byte(tt.body)})
			if resp.status != tt.status {
				t.Errorf("status %d, want %d: %s", resp.status, tt.status, resp.body)
			}
			if tt.want != nil {
				if diff := cmp.Diff(tt.want, jsonOf(t, resp.body)); diff != "" {
					t.Errorf("answer (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestNodes(t *testing.T) {
	f := newFixture(t, Config{})
	f.release("system", "1.0.0", store.Approved)
	t0 := f.clock.now()
	sha := strings.Repeat("ab", 32)
	inv := `{"agent_version":"0.4.0","tags":{"site":"paris"},"plugins":[{"name":"system","version":"1.0.0","sha256":"` + sha + `","state":"running"}]}`
	if resp := f.do(request{method: "PUT", path: "/v1/nodes/web-1/inventory", who: "agent", body: []byte(inv)}); resp.status != 204 {
		t.Fatalf("inventory: %d %s", resp.status, resp.body)
	}
	f.clock.add(time.Minute)
	lp := "cpu,cpu=cpu0,plugin=system usage=12.5,count=3i 1000\n" +
		"cpu,cpu=cpu0,plugin=system usage=13.5 2000\n" +
		"promise,plugin=system,promise=disk-root status=2i,message=\"disk full\",duration_ms=4.5,anomaly=true 2000\n"
	if resp := f.write("agent", lp, nil); resp.status != 204 {
		t.Fatalf("write: %d %s", resp.status, resp.body)
	}
	if resp := f.write("agent2", "mem free=1i 3000\n", nil); resp.status != 204 {
		t.Fatalf("write: %d %s", resp.status, resp.body)
	}
	if err := f.h.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	web1 := map[string]any{
		"name": "web-1", "agent_version": "0.4.0", "tags": map[string]any{"site": "paris"},
		"first_seen": ts(t0), "last_seen": ts(t0.Add(time.Minute)),
		"inventory": map[string]any{"plugins": []any{map[string]any{"name": "system", "version": "1.0.0", "sha256": sha, "state": "running"}}},
	}
	web2 := map[string]any{
		"name": "web-2", "agent_version": "", "tags": map[string]any{},
		"first_seen": ts(t0.Add(time.Minute)), "last_seen": ts(t0.Add(time.Minute)), "inventory": nil,
	}

	t.Run("list as admin", func(t *testing.T) {
		resp := f.do(request{method: "GET", path: "/v1/nodes", who: "admin"})
		if diff := cmp.Diff(any(map[string]any{"nodes": []any{web1, web2}}), jsonOf(t, resp.body)); diff != "" {
			t.Errorf("%d (-want +got):\n%s", resp.status, diff)
		}
	})
	t.Run("list as an agent", func(t *testing.T) {
		resp := f.do(request{method: "GET", path: "/v1/nodes", who: "agent2"})
		if diff := cmp.Diff(any(map[string]any{"nodes": []any{web2}}), jsonOf(t, resp.body)); diff != "" {
			t.Errorf("%d (-want +got):\n%s", resp.status, diff)
		}
	})
	t.Run("one node", func(t *testing.T) {
		want := map[string]any{}
		for k, v := range web1 {
			want[k] = v
		}
		at := func(ns int64) string { return ts(time.Unix(0, ns)) }
		want["latest"] = []any{
			map[string]any{"measurement": "cpu", "tags": "cpu=cpu0,plugin=system", "field": "count", "value": 3.0, "time": at(1000)},
			map[string]any{"measurement": "cpu", "tags": "cpu=cpu0,plugin=system", "field": "usage", "value": 13.5, "time": at(2000)},
			map[string]any{"measurement": "promise", "tags": "plugin=system,promise=disk-root", "field": "anomaly", "value": true, "time": at(2000)},
			map[string]any{"measurement": "promise", "tags": "plugin=system,promise=disk-root", "field": "duration_ms", "value": 4.5, "time": at(2000)},
			map[string]any{"measurement": "promise", "tags": "plugin=system,promise=disk-root", "field": "message", "value": "disk full", "time": at(2000)},
			map[string]any{"measurement": "promise", "tags": "plugin=system,promise=disk-root", "field": "status", "value": 2.0, "time": at(2000)},
		}
		want["promises"] = []any{map[string]any{
			"plugin": "system", "promise": "disk-root", "status": 2.0, "state": "CRITICAL", "message": "disk full",
			"anomaly": true, "duration_ms": 4.5, "time": at(2000),
		}}
		for _, who := range []string{"admin", "agent"} {
			resp := f.do(request{method: "GET", path: "/v1/nodes/web-1", who: who})
			if diff := cmp.Diff(any(want), jsonOf(t, resp.body)); diff != "" || resp.status != 200 {
				t.Errorf("as %s: %d (-want +got):\n%s", who, resp.status, diff)
			}
		}
	})
	t.Run("unknown node", func(t *testing.T) {
		resp := f.do(request{method: "GET", path: "/v1/nodes/web-9", who: "admin"})
		want := map[string]any{"error": `no node "web-9": it has never written to this registry`}
		if diff := cmp.Diff(any(want), jsonOf(t, resp.body)); diff != "" || resp.status != 404 {
			t.Errorf("%d (-want +got):\n%s", resp.status, diff)
		}
	})
}

// TestBackgroundFlush checks that Start flushes the fleet state on its
// own and that Close flushes what is left.
func TestBackgroundFlush(t *testing.T) {
	f := newFixture(t, Config{FleetFlush: 10 * time.Millisecond})
	f.h.Start()
	f.write("agent", "cpu v=1 1\n", nil)
	deadline := time.Now().Add(20 * time.Second)
	for {
		latest, err := f.cat.Latest(context.Background(), "web-1")
		if err != nil {
			t.Fatal(err)
		}
		if len(latest) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the latest value was not flushed within 20 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := f.h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.h.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestCloseFlushes(t *testing.T) {
	f := newFixture(t, Config{}) // never started
	f.write("agent", "cpu v=1 1\n", nil)
	if err := f.h.Close(); err != nil {
		t.Fatal(err)
	}
	latest, err := f.cat.Latest(context.Background(), "web-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(latest) != 1 || latest[0].Value != 1.0 {
		t.Errorf("after Close the store holds %+v, want cpu v=1", latest)
	}
}
