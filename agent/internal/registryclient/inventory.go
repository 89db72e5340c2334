package registryclient

import (
	"context"
	"net/http"
)

// Inventory is what an agent tells the registry about itself: its
// version, its tags and the plugins it runs.
type Inventory struct {
	AgentVersion string            `json:"agent_version"`
	Tags         map[string]string `json:"tags,omitempty"`
	Plugins      []InventoryPlugin `json:"plugins"`
}

// InventoryPlugin is one configured plugin in an Inventory.
type InventoryPlugin struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	SHA256  string `json:"sha256,omitempty"` // of the executable, lowercase hex
	State   string `json:"state"`            // "running" or "failed"
	Error   string `json:"error,omitempty"`  // why it failed
}

// PutInventory replaces node's inventory at the registry (PUT
// /v1/nodes/{node}/inventory with an agent token bound to node).
func (c *Client) PutInventory(ctx context.Context, node string, inv Inventory) error {
	if inv.Plugins == nil {
		inv.Plugins = []InventoryPlugin{}
	}
	return c.sendJSON(ctx, http.MethodPut, "/v1/nodes/"+seg(node)+"/inventory", inv, http.StatusNoContent, nil)
}
