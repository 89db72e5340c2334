package agent

import (
	"context"
	"math/rand/v2"
	"reflect"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/vigilmon/vigil/agent/internal/registryclient"
	"github.com/vigilmon/vigil/hcl/agentconfig"
)

// Backoff between attempts to announce the inventory.
const (
	announceMinBackoff = time.Second
	announceMaxBackoff = 5 * time.Minute
	announceTimeout    = 30 * time.Second
)

// announcer keeps the registry's copy of this node's inventory current: it
// sends the inventory at start and again whenever a reload changes it,
// retrying with backoff until the registry takes it. Only the latest
// inventory matters, so a newer one replaces one still waiting.
type announcer struct {
	client  *registryclient.Client
	node    string
	log     hclog.Logger
	pending chan registryclient.Inventory // capacity 1: the latest wins
	// sent is called after each inventory the registry accepted (tests).
	sent func(registryclient.Inventory)
}

// newAnnouncer returns nil when cfg has no registry to announce to.
func newAnnouncer(cfg *agentconfig.Config, log hclog.Logger) *announcer {
	if cfg.Registry == nil || cfg.Registry.Token == "" {
		return nil
	}
	c, err := registryclient.New(cfg.Registry.URL, cfg.Registry.Token, nil)
	if err != nil {
		log.Warn("not announcing the inventory", "error", err)
		return nil
	}
	return &announcer{client: c, node: cfg.Agent.Node, log: log.Named("inventory"), pending: make(chan registryclient.Inventory, 1)}
}

// announce queues inv, replacing an inventory not yet sent.
func (a *announcer) announce(inv registryclient.Inventory) {
	if a == nil {
		return
	}
	for {
		select {
		case a.pending <- inv:
			return
		default:
		}
		select {
		case <-a.pending:
		default:
		}
	}
}

// run sends queued inventories until ctx ends; an inventory equal to the
// last one accepted is not sent again.
func (a *announcer) run(ctx context.Context) {
	if a == nil {
		return
	}
	var last *registryclient.Inventory
	for {
		var inv registryclient.Inventory
		select {
		case <-ctx.Done():
			return
		case inv = <-a.pending:
		}
		if last != nil && reflect.DeepEqual(*last, inv) {
			continue
		}
		if !a.send(ctx, inv) {
			continue // replaced by a newer one, or stopping
		}
		last = &inv
		if a.sent != nil {
			a.sent(inv)
		}
	}
}

// send tries until the registry accepts inv; it gives up (false) when ctx
// ends or a newer inventory is queued, which is then sent instead.
func (a *announcer) send(ctx context.Context, inv registryclient.Inventory) bool {
	for attempt := 0; ; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, announceTimeout)
		err := a.client.PutInventory(cctx, a.node, inv)
		cancel()
		if err == nil {
			a.log.Debug("inventory sent", "plugins", len(inv.Plugins))
			return true
		}
		ceiling := min(announceMinBackoff<<min(attempt, 20), announceMaxBackoff)
		wait := ceiling/2 + rand.N(ceiling/2+1)
		if attempt == 0 {
			a.log.Warn("cannot send the inventory to the registry; retrying", "error", err, "next_in", wait.Round(time.Millisecond))
		} else {
			a.log.Debug("inventory still not sent", "error", err, "attempt", attempt+1)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		select {
		case newer := <-a.pending:
			a.announce(newer) // put it back for run to pick up
			return false
		default:
		}
	}
}

// inventory is what s runs, as the registry is told.
func (s *Set) inventory(version string) registryclient.Inventory {
	inv := registryclient.Inventory{AgentVersion: version, Tags: s.cfg.Agent.Tags, Plugins: []registryclient.InventoryPlugin{}}
	for _, p := range s.plugins {
		// The lock file writes "sha256:<hex>"; the registry takes the hex.
		sum := strings.TrimPrefix(p.sha256, "sha256:")
		inv.Plugins = append(inv.Plugins, registryclient.InventoryPlugin{Name: p.cfg.Name, Version: p.info.Version, SHA256: sum, State: "running"})
	}
	for _, st := range s.states() {
		if !st.Up {
			inv.Plugins = append(inv.Plugins, registryclient.InventoryPlugin{Name: st.Name, Version: st.Version, State: "failed", Error: st.Error})
		}
	}
	return inv
}
