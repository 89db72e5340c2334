package ingest

import (
	"context"
	"encoding/json"
	"testing"
	"time"
	"unsafe"

	"github.com/vigilmon/vigil/registry/internal/store"
)

// catalogStub answers the approval check's two questions from memory.
type catalogStub struct {
	inventory map[string][]inventoryPlugin // node → plugins
	states    map[pluginVersion]store.State
}

func (c catalogStub) Node(_ context.Context, name string) (store.Node, error) {
	plugins, ok := c.inventory[name]
	if !ok {
		return store.Node{}, store.ErrNotFound
	}
	b, err := json.Marshal(storedInventory{Plugins: plugins})
	return store.Node{Name: name, Inventory: b}, err
}

func (c catalogStub) Release(_ context.Context, plugin, version string) (store.Release, error) {
	st, ok := c.states[pluginVersion{plugin, version}]
	if !ok {
		return store.Release{}, store.ErrNotFound
	}
	return store.Release{Plugin: plugin, Version: version, State: st}, nil
}

// within reports whether s's bytes lie in body's.
func within(s, body string) bool {
	if len(s) == 0 {
		return false
	}
	p, b := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(unsafe.StringData(body)))
	return p >= b && p < b+uintptr(len(body))
}

// TestApprovalCacheKeepsNoBody: the node and plugin judged are pieces of a
// request's body; the cache must key its entries by copies, or each entry
// would keep a whole body (megabytes) alive for as long as it lives —
// refreshed entries included, as a map assignment stores the new key.
func TestApprovalCacheKeepsNoBody(t *testing.T) {
	stub := catalogStub{
		inventory: map[string][]inventoryPlugin{"web-1": {{Name: "system", Version: "1.0.0"}}},
		states:    map[pluginVersion]store.State{{"system", "1.0.0"}: store.Approved},
	}
	clock := time.Unix(1_700_000_000, 0)
	a := &approvals{releases: stub, nodes: stub, ttl: time.Minute, now: func() time.Time { return clock },
		states: map[pluginVersion]cachedState{}, inventories: map[string]cachedInventory{}}
	for i := range 3 { // new entries, cached ones, then refreshed ones
		body := string([]byte("cpu,node=web-1,plugin=system v=1 1\n")) // a fresh copy, as decode makes
		node, plugin := body[9:14], body[22:28]
		if node != "web-1" || plugin != "system" {
			t.Fatalf("slicing the body: %q %q", node, plugin)
		}
		v, why, err := a.judge(context.Background(), node, plugin)
		if err != nil || v != approved {
			t.Fatalf("judge %d: %v %q %v, want approved", i, v, why, err)
		}
		for k := range a.inventories {
			if within(k, body) {
				t.Errorf("judge %d: the inventory cache is keyed by a piece of the body", i)
			}
		}
		for k := range a.states {
			if within(k.plugin, body) || within(k.version, body) {
				t.Errorf("judge %d: the release cache is keyed by a piece of the body", i)
			}
		}
		if i == 1 {
			clock = clock.Add(2 * time.Minute) // the next judge refreshes both entries
		}
	}
}
