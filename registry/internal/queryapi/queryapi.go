package queryapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/vigilmon/vigil/registry/internal/metrics"
	"github.com/vigilmon/vigil/registry/internal/store"
)

// DefaultMaxSamples is the default cap on the samples of one answer.
const DefaultMaxSamples = 100_000

// Querier answers metrics queries; every metrics.Store is one.
type Querier interface {
	Query(ctx context.Context, q metrics.Query) ([]metrics.Series, error)
}

// Config configures the handler.
type Config struct {
	Store Querier
	// Authenticate finds the request's credential; its error carries the
	// HTTP status (401) for WriteError. The registry passes
	// (*httpapi.API).Authenticate.
	Authenticate func(*http.Request) (store.Credential, error)
	// WriteError writes an error as the rest of the API does; the
	// registry passes (*httpapi.API).WriteError.
	WriteError func(http.ResponseWriter, *http.Request, error)
	Logger     hclog.Logger
	// MaxSamples caps the samples of one answer (all series together);
	// DefaultMaxSamples when 0.
	MaxSamples int
	// Now is the clock for "now" and the default range; time.Now when nil.
	Now func() time.Time
}

type handler struct {
	cfg Config
	mux *http.ServeMux
}

// New returns the handler of GET /v1/query/series.
func New(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.MaxSamples <= 0 {
		cfg.MaxSamples = DefaultMaxSamples
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &handler{cfg: cfg, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /v1/query/series", h.series)
	return h.mux
}

// clientError is a 400 or 403 with its message.
type clientError struct {
	status int
	msg    string
}

func (e *clientError) Error() string { return e.msg }

func (h *handler) series(w http.ResponseWriter, r *http.Request) {
	who, err := h.cfg.Authenticate(r)
	if err != nil {
		h.cfg.WriteError(w, r, err)
		return
	}
	answer, err := h.answer(r, who)
	var ce *clientError
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, answer)
	case errors.As(err, &ce):
		writeJSON(w, ce.status, map[string]string{"error": ce.msg})
	default:
		h.cfg.WriteError(w, r, err)
	}
}

// answer checks who may ask what r asks, and asks the store.
func (h *handler) answer(r *http.Request, who store.Credential) (*response, error) {
	if who.Role != store.RoleAdmin && who.Role != store.RoleAgent {
		return nil, &clientError{http.StatusForbidden, fmt.Sprintf("forbidden for this %s token: only the admin and agent tokens may query metrics", who.Role)}
	}
	q, err := parseQuery(r.URL.Query(), h.cfg.Now())
	if err != nil {
		return nil, &clientError{http.StatusBadRequest, err.Error()}
	}
	if who.Role == store.RoleAgent {
		if err := confine(&q, who.Node); err != nil {
			return nil, err
		}
	}
	if q.Step > 0 {
		rng := q.To.Sub(q.From) // saturates rather than overflows
		if buckets := ceilDiv(rng, q.Step); buckets > int64(h.cfg.MaxSamples) {
			least := time.Duration(ceilDiv(rng, time.Duration(h.cfg.MaxSamples)))
			least = time.Duration(ceilDiv(least, time.Millisecond)) * time.Millisecond
			return nil, &clientError{http.StatusBadRequest, fmt.Sprintf(
				"step: %s over %s makes %d buckets per series, more than the limit of %d samples; use a step of at least %s",
				q.Step, rng, buckets, h.cfg.MaxSamples, least)}
		}
	}
	start := time.Now()
	series, err := h.cfg.Store.Query(r.Context(), q)
	if errors.Is(err, metrics.ErrInvalidQuery) {
		return nil, &clientError{http.StatusBadRequest, err.Error()}
	}
	if err != nil {
		return nil, fmt.Errorf("querying the metrics store: %w", err)
	}
	n := 0
	for _, s := range series {
		n += len(s.Samples)
	}
	h.cfg.Logger.Debug("query answered", "measurement", q.Measurement, "field", q.Field, "series", len(series), "samples", n, "duration", time.Since(start))
	if n > h.cfg.MaxSamples {
		hint := "narrow the range or the filters"
		if q.Step == 0 {
			hint += ", or set a step to aggregate"
		} else {
			hint += ", or use a larger step"
		}
		return nil, &clientError{http.StatusBadRequest, fmt.Sprintf(
			"step: the answer holds %d samples, more than the limit of %d; %s", n, h.cfg.MaxSamples, hint)}
	}
	resp := &response{Series: make([]seriesJSON, len(series))}
	for i, s := range series {
		resp.Series[i] = seriesJSON{Measurement: s.Measurement, Field: s.Field, Tags: s.Tags, Points: samplesJSON(s.Samples)}
		if resp.Series[i].Tags == nil {
			resp.Series[i].Tags = map[string]string{}
		}
	}
	return resp, nil
}

func ceilDiv(a, b time.Duration) int64 {
	n := int64(a / b)
	if a%b != 0 {
		n++
	}
	return n
}

// confine limits an agent's query to its own node.
func confine(q *metrics.Query, node string) error {
	if node == "" {
		return &clientError{http.StatusForbidden, "forbidden for this agent token: it is bound to no node, so it may query none; ask the registry admin for a token with a node"}
	}
	for _, asked := range []string{q.Node, q.Tags["node"]} {
		if asked != "" && asked != node {
			return &clientError{http.StatusForbidden, fmt.Sprintf("forbidden for this agent token: it may query only its own node %q, not %q", node, asked)}
		}
	}
	q.Node = node
	return nil
}

type response struct {
	Series []seriesJSON `json:"series"`
}

type seriesJSON struct {
	Measurement string            `json:"measurement"`
	Field       string            `json:"field"`
	Tags        map[string]string `json:"tags"`
	Points      samplesJSON       `json:"points"`
}

// samplesJSON encodes as [["<RFC 3339 time>", value], ...].
type samplesJSON []metrics.Sample

func (s samplesJSON) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 2+len(s)*48)
	b = append(b, '[')
	for i, smp := range s {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `["`...)
		b = smp.Time.UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, `",`...)
		if math.IsNaN(smp.Value) || math.IsInf(smp.Value, 0) {
			b = append(b, "null"...)
		} else {
			b = strconv.AppendFloat(b, smp.Value, 'g', -1, 64)
		}
		b = append(b, ']')
	}
	return append(b, ']'), nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away: nothing to tell it
}
