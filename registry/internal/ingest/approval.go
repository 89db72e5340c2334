package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/vigilmon/vigil/registry/internal/store"
)

// maxCached bounds each approval cache; past it the cache starts over.
const maxCached = 10000

// approvals judges whether a node's plugin is an approved release: the
// version is the one the node's inventory reports, the state the release's
// in the catalog. Both are cached for ttl, as they change rarely; the
// inventory handler drops its node's entry at once.
type approvals struct {
	releases interface {
		Release(ctx context.Context, plugin, version string) (store.Release, error)
	}
	nodes interface {
		Node(ctx context.Context, name string) (store.Node, error)
	}
	ttl time.Duration
	now func() time.Time

	mu          sync.Mutex
	states      map[pluginVersion]cachedState
	inventories map[string]cachedInventory
}

type pluginVersion struct{ plugin, version string }

type cachedState struct {
	state store.State // "" when there is no such release
	at    time.Time
}

type cachedInventory struct {
	plugins map[string]string // name → version; nil when no inventory was reported
	at      time.Time
}

// judge is an approveFunc.
func (a *approvals) judge(ctx context.Context, node, plugin string) (verdict, string, error) {
	plugins, err := a.inventory(ctx, node)
	if err != nil {
		return 0, "", err
	}
	if plugins == nil {
		return noInventory, fmt.Sprintf("node %q has not reported its inventory yet", node), nil
	}
	version, ok := plugins[plugin]
	if !ok {
		return unapproved, fmt.Sprintf("plugin %q is not in node %q's inventory, so no approved release covers it", plugin, node), nil
	}
	state, err := a.state(ctx, plugin, version)
	if err != nil {
		return 0, "", err
	}
	switch state {
	case store.Approved:
		return approved, "", nil
	case "":
		return unapproved, fmt.Sprintf("plugin %q %s is not a release of this registry", plugin, version), nil
	}
	return unapproved, fmt.Sprintf("plugin %q %s is %s, not an approved release", plugin, version, state), nil
}

// inventory returns node's plugins and versions, nil if it reported none.
func (a *approvals) inventory(ctx context.Context, node string) (map[string]string, error) {
	now := a.now()
	a.mu.Lock()
	c, ok := a.inventories[node]
	a.mu.Unlock()
	if ok && now.Sub(c.at) < a.ttl {
		return c.plugins, nil
	}
	n, err := a.nodes.Node(ctx, node)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("reading node %q for the approval check: %w", node, err)
	case len(n.Inventory) > 0 && string(n.Inventory) != "null":
		// The inventory handler stores only what it validated; anything
		// else counts as no inventory (flagged, never rejected).
		var inv storedInventory
		if json.Unmarshal(n.Inventory, &inv) == nil {
			c.plugins = make(map[string]string, len(inv.Plugins))
			for _, p := range inv.Plugins {
				c.plugins[p.Name] = p.Version
			}
		}
	}
	c.at = now
	a.mu.Lock()
	if len(a.inventories) >= maxCached {
		clear(a.inventories)
	}
	// node may be a piece of a request's body: keyed by it, the cache
	// would keep the whole body alive (a map assignment stores the new
	// key even when the entry exists).
	a.inventories[strings.Clone(node)] = c
	a.mu.Unlock()
	return c.plugins, nil
}

// state returns a release's state, "" if there is no such release.
func (a *approvals) state(ctx context.Context, plugin, version string) (store.State, error) {
	key := pluginVersion{plugin, version}
	now := a.now()
	a.mu.Lock()
	c, ok := a.states[key]
	a.mu.Unlock()
	if ok && now.Sub(c.at) < a.ttl {
		return c.state, nil
	}
	rel, err := a.releases.Release(ctx, plugin, version)
	switch {
	case errors.Is(err, store.ErrNotFound):
		c.state = ""
	case err != nil:
		return "", fmt.Errorf("reading release %s %s for the approval check: %w", plugin, version, err)
	default:
		c.state = rel.State
	}
	c.at = now
	a.mu.Lock()
	if len(a.states) >= maxCached {
		clear(a.states)
	}
	a.states[pluginVersion{strings.Clone(plugin), version}] = c // plugin: see inventory; version is the catalog's
	a.mu.Unlock()
	return c.state, nil
}

// forget drops node's cached inventory (it just reported a new one).
func (a *approvals) forget(node string) {
	a.mu.Lock()
	delete(a.inventories, node)
	a.mu.Unlock()
}
