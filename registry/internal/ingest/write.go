package ingest

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/vigilmon/vigil/registry/internal/store"
)

// write serves a write endpoint in dialect d.
func (h *Handler) write(d dialect) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if d != vigilAPI {
			influxHeaders(w, h.cfg.Version)
		}
		h.stats.requests.Add(1)
		if err := h.serveWrite(w, r, d); err != nil {
			h.fail(w, r, d, err)
		}
	}
}

// serveWrite is the pipeline of every write: authenticate, check the
// parameters, read the bounded body, decode and judge every line, drop a
// replayed batch, store the good points, then update the fleet state.
func (h *Handler) serveWrite(w http.ResponseWriter, r *http.Request, d dialect) error {
	ctx := r.Context()
	received := h.now()
	who, err := h.authenticate(r, d)
	if err != nil {
		return err
	}
	if err := mayWrite(who); err != nil {
		return err
	}
	unit, err := h.writeParams(r, d)
	if err != nil {
		return err
	}
	batchID := r.Header.Get(BatchIDHeader)
	if err := checkBatchID(batchID); err != nil {
		return err
	}
	if h.admit != nil {
		if err := h.admit.Admit(); err != nil {
			return err // overloaded: the body is not worth reading
		}
	}

	buf := h.bodies.get()
	defer h.bodies.put(buf)
	n, err := h.bodies.read(w, r, h.cfg.MaxBody, h.cfg.MaxDecompressed, buf)
	h.stats.received.Add(uint64(n))
	if err != nil {
		return err
	}
	h.stats.decoded.Add(uint64(buf.Len()))

	dd := h.getDecoded()
	defer h.putDecoded(dd)
	now := received.UnixNano()
	now -= now % unit
	rl := rules{node: who.Node, unit: unit, now: now, approve: h.approvals.judge, reject: h.cfg.Unapproved == UnapprovedReject}
	if who.Role == store.RoleAdmin {
		rl.node = "" // the admin's points name their node
	}
	if err := decode(ctx, buf.Bytes(), rl, dd); err != nil {
		return err
	}

	if len(dd.points) > 0 {
		var lines []byte
		if dd.verbatim && h.lines != nil {
			if b := buf.Bytes(); b[len(b)-1] != '\n' {
				buf.WriteByte('\n') // the points' strings are a copy: buf may move
			}
			lines = buf.Bytes()
		}
		replay, err := h.store(ctx, who, batchID, received, dd, lines)
		if err != nil {
			return err
		}
		if replay {
			h.touch(ctx, who, dd.nodes, received)
			h.stats.replayed.Add(1)
			w.Header().Set(ReplayHeader, "true")
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
	}
	h.touch(ctx, who, dd.nodes, received)
	if dd.rejected > 0 {
		h.stats.rejected.Add(uint64(dd.rejected))
		// dd goes back to the pool before the error is written: copy.
		return &httpError{status: http.StatusBadRequest, msg: partialMessage(dd),
			partial: &partialWrite{lines: slices.Clone(dd.errs), stored: len(dd.points), rejected: dd.rejected}}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// writeParams checks the query parameters of d and returns the precision
// in nanoseconds per unit.
func (h *Handler) writeParams(r *http.Request, d dialect) (int64, error) {
	q := r.URL.Query()
	switch d {
	case influxV1:
		if q.Get("db") == "" {
			return 0, errorf(http.StatusBadRequest, "database is required: add ?db=<name> (any name: the registry keeps every point in its one metrics store)")
		}
	case influxV2:
		// org is ignored, and optional: Telegraf sends an empty one
		// unless configured.
		if q.Get("bucket") == "" && q.Get("bucketID") == "" {
			return 0, errorf(http.StatusBadRequest, "bucket is required: add ?bucket=<name> (any name: the registry keeps every point in its one metrics store)")
		}
	}
	unit, err := d.precision(q.Get("precision"))
	if err != nil {
		return 0, errorf(http.StatusBadRequest, "%v", err)
	}
	return unit, nil
}

// store writes dd's points unless batchID (if any) was already written;
// lines, if not nil, is their line protocol for h.lines.
func (h *Handler) store(ctx context.Context, who store.Credential, batchID string, received time.Time, dd *decoded, lines []byte) (replay bool, err error) {
	var done func(context.Context, bool)
	if batchID != "" {
		replay, done, err = h.dedupe.claim(ctx, sender(who), batchID, received)
		if err != nil || replay {
			return replay, err
		}
	}
	if lines != nil {
		err = h.lines.WriteLines(ctx, dd.points, lines)
		h.stats.verbatim.Add(1)
	} else {
		err = h.cfg.Metrics.Write(ctx, dd.points)
	}
	if done != nil {
		done(ctx, err == nil)
	}
	if err != nil {
		return false, fmt.Errorf("storing %d points: %w", len(dd.points), err)
	}
	h.stats.stored.Add(uint64(len(dd.points)))
	h.stats.unapproved.Add(uint64(dd.flagged))
	h.tracker.Observe(dd.points)
	return false, nil
}

// sender is whose batch ids a request's are: the agent's node, or the
// admin token's.
func sender(who store.Credential) string {
	if who.Role == store.RoleAgent {
		return who.Node
	}
	return "admin:" + strconv.FormatInt(who.ID, 10)
}

// touch records that the request's nodes were seen. A failure is logged:
// the points are stored, and the next request touches the node again.
func (h *Handler) touch(ctx context.Context, who store.Credential, nodes []string, at time.Time) {
	if who.Role == store.RoleAgent && !slices.Contains(nodes, who.Node) {
		nodes = append(nodes, who.Node)
	}
	for _, n := range nodes {
		if err := h.cfg.Catalog.TouchNode(ctx, n, at); err != nil {
			h.log.Warn("recording that a node was seen", "node", n, "error", err)
		}
	}
}

func (h *Handler) getDecoded() *decoded {
	if d, ok := h.decoded.Get().(*decoded); ok {
		return d
	}
	return &decoded{}
}

// maxPooledPoints is the most points a pooled decoded keeps room for.
const maxPooledPoints = 100_000

func (h *Handler) putDecoded(d *decoded) {
	if cap(d.points) > maxPooledPoints {
		return
	}
	d.reset()
	h.decoded.Put(d)
}
