package agent

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"

	"github.com/vigilmon/vigil/agent/internal/registryclient"
	"github.com/vigilmon/vigil/hcl/agentconfig"
)

// TestAnnouncer: the inventory reaches the registry despite a failing
// first attempt, an unchanged inventory is not sent again, and a changed
// one is.
func TestAnnouncer(t *testing.T) {
	var mu sync.Mutex
	var got []registryclient.Inventory
	var paths, auths []string
	attempts := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		attempts++
		if attempts == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var inv registryclient.Inventory
		if r.Method != http.MethodPut || json.NewDecoder(r.Body).Decode(&inv) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		got, paths, auths = append(got, inv), append(paths, r.URL.Path), append(auths, r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	cfg := &agentconfig.Config{Agent: agentconfig.Agent{Node: "web-1"}, Registry: &agentconfig.Registry{URL: srv.URL, Token: "vgr_x"}}
	a := newAnnouncer(cfg, hclog.NewNullLogger())
	sent := make(chan registryclient.Inventory, 4)
	a.sent = func(inv registryclient.Inventory) { sent <- inv }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.run(ctx)

	first := registryclient.Inventory{AgentVersion: "1.0.0", Plugins: []registryclient.InventoryPlugin{{Name: "system", Version: "1.2.0", SHA256: "ab", State: "running"}}}
	second := first
	second.Plugins = append([]registryclient.InventoryPlugin{}, first.Plugins...)
	second.Plugins = append(second.Plugins, registryclient.InventoryPlugin{Name: "net", Version: "0.1.0", State: "failed", Error: "boom"})

	a.announce(first)
	wait(t, sent, first)
	a.announce(first) // unchanged: not sent
	a.announce(second)
	wait(t, sent, second)

	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]registryclient.Inventory{first, second}, got); diff != "" {
		t.Errorf("inventories the registry received (-want +got):\n%s", diff)
	}
	for i := range paths {
		if paths[i] != "/v1/nodes/web-1/inventory" || auths[i] != "Bearer vgr_x" {
			t.Errorf("request %d: %s with %q", i, paths[i], auths[i])
		}
	}
}

func wait(t *testing.T, ch <-chan registryclient.Inventory, want registryclient.Inventory) {
	t.Helper()
	select {
	case inv := <-ch:
		if diff := cmp.Diff(want, inv); diff != "" {
			t.Fatalf("sent (-want +got):\n%s", diff)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("inventory not sent within 30s")
	}
}

func TestNoAnnouncerWithoutRegistryToken(t *testing.T) {
	for name, reg := range map[string]*agentconfig.Registry{"no registry": nil, "no token": {URL: "http://127.0.0.1:1"}} {
		if a := newAnnouncer(&agentconfig.Config{Registry: reg}, hclog.NewNullLogger()); a != nil {
			t.Errorf("%s: announcer %v, want none", name, a)
		}
	}
}
