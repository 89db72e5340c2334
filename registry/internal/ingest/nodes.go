package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/vigilmon/vigil/registry/internal/httpapi"
	"github.com/vigilmon/vigil/registry/internal/store"
)

// Bounds of an inventory report.
const (
	maxInventoryBody = 1 << 20
	maxNodeTags      = 64
	maxPlugins       = 1024
	maxNameLen       = 128 // tag keys, plugin names
	maxValueLen      = 256 // tag values
	maxVersionLen    = 64  // agent and plugin versions, plugin states
	maxErrorLen      = 1024
)

// inventoryRequest is the body of PUT /v1/nodes/{node}/inventory.
type inventoryRequest struct {
	AgentVersion string            `json:"agent_version"`
	Tags         map[string]string `json:"tags"`
	Plugins      []inventoryPlugin `json:"plugins"`
}

// inventoryPlugin is one installed plugin as the agent reports it.
type inventoryPlugin struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	SHA256  string `json:"sha256,omitempty"`
	State   string `json:"state,omitempty"`
	Error   string `json:"error,omitempty"` // why a plugin is not running
}

// storedInventory is store.Node.Inventory as ingest writes it: what the
// node runs (its version and tags have their own columns).
type storedInventory struct {
	Plugins []inventoryPlugin `json:"plugins"`
}

// validate lists every problem of the report.
func (inv *inventoryRequest) validate() []string {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if msg := checkText(inv.AgentVersion, maxVersionLen); msg != "" {
		bad("agent_version %s", msg)
	}
	if len(inv.Tags) > maxNodeTags {
		bad("tags: %d tags, the limit is %d", len(inv.Tags), maxNodeTags)
	}
	for _, k := range slices.Sorted(maps.Keys(inv.Tags)) {
		v := inv.Tags[k]
		if msg := checkText(k, maxNameLen); msg != "" {
			bad("tag key %q %s", k, msg)
		}
		if msg := checkText(v, maxValueLen); msg != "" {
			bad("tags.%s %s", k, msg)
		}
	}
	if len(inv.Plugins) > maxPlugins {
		bad("plugins: %d plugins, the limit is %d", len(inv.Plugins), maxPlugins)
	}
	seen := map[string]bool{}
	for i, p := range inv.Plugins {
		if msg := checkText(p.Name, maxNameLen); msg != "" {
			bad("plugins[%d].name %s", i, msg)
		} else if seen[p.Name] {
			bad("plugins[%d]: plugin %q is listed twice", i, p.Name)
		}
		seen[p.Name] = true
		if msg := checkText(p.Version, maxVersionLen); msg != "" {
			bad("plugins[%d].version %s", i, msg)
		}
		if p.SHA256 != "" && !isSHA256(p.SHA256) {
			bad("plugins[%d].sha256 must be 64 lowercase hex digits", i)
		}
		if p.State != "" {
			if msg := checkText(p.State, maxVersionLen); msg != "" {
				bad("plugins[%d].state %s", i, msg)
			}
		}
		if len(p.Error) > maxErrorLen {
			bad("plugins[%d].error is longer than %d bytes", i, maxErrorLen)
		}
	}
	return errs
}

// checkText says what is wrong with a required short text, "" if nothing.
func checkText(s string, limit int) string {
	switch {
	case s == "":
		return "is empty"
	case len(s) > limit:
		return fmt.Sprintf("is longer than %d bytes", limit)
	case !utf8.ValidString(s):
		return "is not UTF-8"
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return "holds a control character"
		}
	}
	return ""
}

func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// putInventory is PUT /v1/nodes/{node}/inventory.
func (h *Handler) putInventory(w http.ResponseWriter, r *http.Request, who store.Credential) error {
	node := r.PathValue("node")
	if err := mayReadNode(who, node); err != nil {
		return err
	}
	if msg := checkText(node, maxNameLen); msg != "" {
		return errorf(http.StatusBadRequest, "node name %s", msg)
	}
	var inv inventoryRequest
	if err := httpapi.DecodeJSON(http.MaxBytesReader(w, r.Body, maxInventoryBody), &inv); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errorf(http.StatusRequestEntityTooLarge, "inventory is over %d bytes", maxInventoryBody)
		}
		return errorf(http.StatusBadRequest, "%v", err)
	}
	if errs := inv.validate(); len(errs) > 0 {
		e := errorf(http.StatusBadRequest, "invalid inventory: %s", errs[0])
		e.details = errs
		return e
	}
	if inv.Plugins == nil {
		inv.Plugins = []inventoryPlugin{}
	}
	raw, err := json.Marshal(storedInventory{Plugins: inv.Plugins})
	if err != nil {
		return fmt.Errorf("encoding the inventory: %w", err)
	}
	info := store.NodeInfo{AgentVersion: inv.AgentVersion, Tags: inv.Tags, Inventory: raw}
	if err := h.cfg.Catalog.SetNodeInfo(r.Context(), node, info, h.now()); err != nil {
		return fmt.Errorf("recording node %q's inventory: %w", node, err)
	}
	h.approvals.forget(node)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// nodeJSON is a node in GET /v1/nodes and GET /v1/nodes/{node}.
type nodeJSON struct {
	Name         string            `json:"name"`
	AgentVersion string            `json:"agent_version"`
	Tags         map[string]string `json:"tags"`
	FirstSeen    time.Time         `json:"first_seen"`
	LastSeen     time.Time         `json:"last_seen"`
	Inventory    json.RawMessage   `json:"inventory"` // null until the agent reports it
}

// nodeDetailJSON is GET /v1/nodes/{node}.
type nodeDetailJSON struct {
	nodeJSON
	Latest   []latestJSON  `json:"latest"`
	Promises []promiseJSON `json:"promises"`
}

type latestJSON struct {
	Measurement string    `json:"measurement"`
	Tags        string    `json:"tags"`
	Field       string    `json:"field"`
	Value       any       `json:"value"`
	Time        time.Time `json:"time"`
}

type promiseJSON struct {
	Plugin     string    `json:"plugin"`
	Promise    string    `json:"promise"`
	Status     int       `json:"status"`
	State      string    `json:"state"`
	Message    string    `json:"message"`
	Anomaly    bool      `json:"anomaly"`
	DurationMS float64   `json:"duration_ms"`
	Time       time.Time `json:"time"`
}

// statusNames are the promise statuses (Nagios exit codes).
var statusNames = [...]string{"OK", "WARNING", "CRITICAL", "UNKNOWN"}

func toNodeJSON(n store.Node) nodeJSON {
	j := nodeJSON{Name: n.Name, AgentVersion: n.AgentVersion, Tags: n.Tags, FirstSeen: n.FirstSeen.UTC(), LastSeen: n.LastSeen.UTC(), Inventory: n.Inventory}
	if j.Tags == nil {
		j.Tags = map[string]string{}
	}
	if len(j.Inventory) == 0 {
		j.Inventory = json.RawMessage("null")
	}
	return j
}

// listNodes is GET /v1/nodes: every node for the admin, its own for an
// agent token.
func (h *Handler) listNodes(w http.ResponseWriter, r *http.Request, who store.Credential) error {
	if who.Role != store.RoleAdmin {
		if err := mayReadNode(who, who.Node); err != nil {
			return err
		}
	}
	nodes, err := h.cfg.Catalog.ListNodes(r.Context())
	if err != nil {
		return fmt.Errorf("listing nodes: %w", err)
	}
	out := struct {
		Nodes []nodeJSON `json:"nodes"`
	}{Nodes: []nodeJSON{}}
	for _, n := range nodes {
		if who.Role == store.RoleAdmin || n.Name == who.Node {
			out.Nodes = append(out.Nodes, toNodeJSON(n))
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// getNode is GET /v1/nodes/{node}: the node with its latest values and
// promise results, as last flushed (at most Config.FleetFlush old).
func (h *Handler) getNode(w http.ResponseWriter, r *http.Request, who store.Credential) error {
	name := r.PathValue("node")
	if err := mayReadNode(who, name); err != nil {
		return err
	}
	ctx := r.Context()
	n, err := h.cfg.Catalog.Node(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusNotFound, "no node %q: it has never written to this registry", name)
	}
	if err != nil {
		return fmt.Errorf("reading node %q: %w", name, err)
	}
	latest, err := h.cfg.Catalog.Latest(ctx, name)
	if err != nil {
		return fmt.Errorf("reading node %q's latest values: %w", name, err)
	}
	results, err := h.cfg.Catalog.PromiseResults(ctx, name)
	if err != nil {
		return fmt.Errorf("reading node %q's promise results: %w", name, err)
	}
	out := nodeDetailJSON{nodeJSON: toNodeJSON(n), Latest: make([]latestJSON, 0, len(latest)), Promises: make([]promiseJSON, 0, len(results))}
	for _, l := range latest {
		out.Latest = append(out.Latest, latestJSON{Measurement: l.Measurement, Tags: l.Tags, Field: l.Field, Value: l.Value, Time: l.Time.UTC()})
	}
	for _, p := range results {
		state := "UNKNOWN"
		if p.Status >= 0 && p.Status < len(statusNames) {
			state = statusNames[p.Status]
		}
		out.Promises = append(out.Promises, promiseJSON{
			Plugin: p.Plugin, Promise: p.Promise, Status: p.Status, State: state, Message: p.Message,
			Anomaly: p.Anomaly, DurationMS: p.DurationMS, Time: p.Time.UTC(),
		})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
