package ingest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/vigilmon/vigil/registry/internal/fleet"
	"github.com/vigilmon/vigil/registry/internal/metrics"
	"github.com/vigilmon/vigil/registry/internal/store"
)

// Defaults of Config.
const (
	DefaultMaxBody         = 32 << 20
	DefaultMaxDecompressed = 256 << 20
	DefaultFleetFlush      = 5 * time.Second
	DefaultDedupeWindow    = 24 * time.Hour
	DefaultApprovalTTL     = 30 * time.Second
)

// What ingest does with points of a plugin that is not an approved release.
const (
	UnapprovedFlag   = "flag"   // stored with the tag unapproved=true, and counted
	UnapprovedReject = "reject" // rejected as bad lines
)

// Catalog is what ingest needs of the catalog store: tokens, releases (for
// the approval check) and the fleet state.
type Catalog interface {
	CredentialByHash(ctx context.Context, h store.Hash) (store.Credential, error)
	Release(ctx context.Context, plugin, version string) (store.Release, error)
	store.Fleet
}

// PointWriter is where points go: metrics.Store. A Write error that has a
// RetryAfter() time.Duration method (found with errors.As) means the
// store is overloaded: the client is answered 503 with Retry-After.
type PointWriter interface {
	Write(ctx context.Context, points []metrics.Point) error
}

// admitter is an optional capability of the PointWriter: saying, before a
// body is read, that Write would refuse it now (an error with a
// RetryAfter method), so that an overloaded store costs nothing more.
type admitter interface{ Admit() error }

// Config configures a Handler. Zero values take the defaults.
type Config struct {
	Catalog Catalog
	Metrics PointWriter
	Logger  hclog.Logger
	// Version is the registry's, sent in /ping's Vigil-Registry header
	// and /health.
	Version string
	// MaxBody bounds a write's body as received (DefaultMaxBody);
	// MaxDecompressed once gunzipped (DefaultMaxDecompressed).
	MaxBody, MaxDecompressed int64
	// Unapproved is UnapprovedFlag (the default; anything else but
	// UnapprovedReject counts as it) or UnapprovedReject.
	Unapproved string
	// FleetFlush is how often latest values and promise results are
	// written to the catalog (DefaultFleetFlush).
	FleetFlush time.Duration
	// DedupeWindow is how long batch ids are remembered (DefaultDedupeWindow).
	DedupeWindow time.Duration
	// ApprovalTTL is how long approval facts are cached (DefaultApprovalTTL).
	ApprovalTTL time.Duration
	// Now is the clock (time.Now); tests set it.
	Now func() time.Time
}

// withDefaults returns a copy of c with the defaults applied.
func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = hclog.NewNullLogger()
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.MaxBody <= 0 {
		c.MaxBody = DefaultMaxBody
	}
	if c.MaxDecompressed <= 0 {
		c.MaxDecompressed = DefaultMaxDecompressed
	}
	if c.Unapproved != UnapprovedReject {
		c.Unapproved = UnapprovedFlag
	}
	if c.FleetFlush <= 0 {
		c.FleetFlush = DefaultFleetFlush
	}
	if c.DedupeWindow <= 0 {
		c.DedupeWindow = DefaultDedupeWindow
	}
	if c.ApprovalTTL <= 0 {
		c.ApprovalTTL = DefaultApprovalTTL
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Handler serves ingest: the write endpoints, /ping and /health, and the
// node endpoints. Mount it on each of Routes() beside the /v1 API; call
// Start to run its background work and Close after the HTTP server has
// stopped.
type Handler struct {
	cfg       Config
	log       hclog.Logger
	mux       *http.ServeMux
	lines     metrics.LineWriter // cfg.Metrics, if it takes line protocol as received
	admit     admitter           // cfg.Metrics, if it can refuse a write before its body is read
	tracker   *fleet.Tracker
	approvals *approvals
	dedupe    *dedupe
	bodies    bodies
	decoded   sync.Pool // *decoded
	stats     counters
	life      lifecycle
}

// New returns a handler; it starts nothing (see Start).
func New(cfg Config) *Handler {
	cfg = cfg.withDefaults()
	h := &Handler{
		cfg:     cfg,
		log:     cfg.Logger.Named("ingest"),
		mux:     http.NewServeMux(),
		tracker: fleet.New(cfg.Catalog),
		approvals: &approvals{releases: cfg.Catalog, nodes: cfg.Catalog, ttl: cfg.ApprovalTTL, now: cfg.Now,
			states: map[pluginVersion]cachedState{}, inventories: map[string]cachedInventory{}},
		life: lifecycle{stop: make(chan struct{})},
	}
	// The owner of this handler's batch claims: a process that stops
	// before confirming them leaves them to be taken over (see dedupe).
	h.dedupe = newDedupe(cfg.Catalog, newOwner(), h.log)
	h.lines, _ = cfg.Metrics.(metrics.LineWriter)
	h.admit, _ = cfg.Metrics.(admitter)
	for _, rt := range h.routes() {
		h.mux.HandleFunc(rt.pattern, rt.fn)
	}
	return h
}

type route struct {
	pattern string
	fn      http.HandlerFunc
}

// routes is the one table of what the handler serves.
func (h *Handler) routes() []route {
	return []route{
		{"POST /v1/write", h.write(vigilAPI)},
		{"POST /write", h.write(influxV1)},
		{"POST /api/v2/write", h.write(influxV2)},
		{"GET /ping", h.ping}, // and HEAD
		{"GET /health", h.health},
		{"GET /query", h.query},
		{"POST /query", h.query},
		{"GET /v1/nodes", h.api(h.listNodes)},
		{"GET /v1/nodes/{node}", h.api(h.getNode)},
		{"PUT /v1/nodes/{node}/inventory", h.api(h.putInventory)},
	}
}

// Routes are the patterns the handler serves, to mount it on an
// http.ServeMux beside the /v1 API (GET patterns answer HEAD too).
func (h *Handler) Routes() []string {
	var ps []string
	for _, rt := range h.routes() {
		ps = append(ps, rt.pattern)
	}
	return ps
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// api wraps a /v1 handler with authentication and error answers.
func (h *Handler) api(fn func(w http.ResponseWriter, r *http.Request, who store.Credential) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		who, err := h.authenticate(r, vigilAPI)
		if err == nil {
			err = fn(w, r, who)
		}
		if err != nil {
			h.fail(w, r, vigilAPI, err)
		}
	}
}

// fail answers err in d's shape: an *httpError as is, a store error by its
// kind, a cancellation as 503, anything else as a 500 whose cause is
// logged, not shown.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, d dialect, err error) {
	var he *httpError
	var ra interface{ RetryAfter() time.Duration }
	switch {
	case errors.As(err, &he):
	case errors.As(err, &ra):
		he = &httpError{status: http.StatusServiceUnavailable, retryAfter: max(ra.RetryAfter(), time.Second),
			msg: "the metrics store is overloaded: retry later"}
	case errors.Is(err, store.ErrNotFound):
		he = errorf(http.StatusNotFound, "%v", err)
	case errors.Is(err, store.ErrInvalid):
		he = errorf(http.StatusBadRequest, "%v", err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		he = &httpError{status: http.StatusServiceUnavailable, retryAfter: time.Second, msg: "request interrupted: retry"}
	default:
		h.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		he = errorf(http.StatusInternalServerError, "internal error; the registry's log has the cause")
	}
	if he.status >= 500 {
		h.stats.failed.Add(1)
	}
	d.writeError(w, he)
}

func (h *Handler) now() time.Time { return h.cfg.Now() }

// lifecycle is the background loops' state.
type lifecycle struct {
	startOnce, closeOnce sync.Once
	stop                 chan struct{}
	loops                sync.WaitGroup
	closeErr             error
}

// Start runs the background work until Close: flushing fleet state every
// Config.FleetFlush, confirming the claims of stored batches about ten
// times a second, and forgetting batch ids older than Config.DedupeWindow.
// Calling it again does nothing.
func (h *Handler) Start() {
	h.life.startOnce.Do(func() {
		h.life.loops.Go(h.loop)
		h.life.loops.Go(h.confirmLoop)
	})
}

func (h *Handler) loop() {
	flush := time.NewTicker(h.cfg.FleetFlush)
	defer flush.Stop()
	forget := time.NewTicker(min(max(h.cfg.DedupeWindow/24, time.Second), time.Hour))
	defer forget.Stop()
	h.forgetBatches()
	for {
		select {
		case <-h.life.stop:
			return
		case <-flush.C:
			if err := h.Flush(context.Background()); err != nil {
				h.log.Warn("flushing fleet state", "error", err)
			}
		case <-forget.C:
			h.forgetBatches()
		}
	}
}

func (h *Handler) forgetBatches() {
	n, err := h.dedupe.forgetOld(context.Background(), h.now().Add(-h.cfg.DedupeWindow))
	if err != nil {
		h.log.Warn("forgetting old batch ids", "error", err)
		return
	}
	if n > 0 {
		h.log.Debug("forgot old batch ids", "count", n)
	}
}

// confirmLoop flushes the confirmations of stored batches (dedupe.flush)
// every confirmEvery, or sooner when many are queued. A failure is logged
// when it starts, not every time while it lasts: the confirmations stay
// queued, and one never flushed only means a retried batch is stored again.
func (h *Handler) confirmLoop() {
	tick := time.NewTicker(confirmEvery)
	defer tick.Stop()
	failing := false
	for {
		select {
		case <-h.life.stop:
			return
		case <-tick.C:
		case <-h.dedupe.kick:
		}
		err := h.dedupe.flush(context.Background())
		switch {
		case err != nil && !failing:
			h.log.Warn("confirming stored batches (retrying quietly)", "error", err)
		case err == nil && failing:
			h.log.Info("confirming stored batches again")
		}
		failing = err != nil
	}
}

// Flush writes the latest values and promise results gathered since the
// last flush to the catalog.
func (h *Handler) Flush(ctx context.Context) error {
	if err := h.tracker.Flush(ctx); err != nil {
		return fmt.Errorf("flushing fleet state: %w", err)
	}
	return nil
}

// closeTimeout bounds Close's last flush.
const closeTimeout = 10 * time.Second

// Close stops the background work and flushes the fleet state and the
// confirmations of stored batches one last time. Call it once the HTTP
// server has stopped; it is safe to call twice or without Start.
func (h *Handler) Close() error {
	h.life.closeOnce.Do(func() {
		close(h.life.stop)
		h.life.loops.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		h.life.closeErr = errors.Join(h.Flush(ctx), h.dedupe.flush(ctx))
	})
	return h.life.closeErr
}

// Stats are ingest's counters since New.
type Stats struct {
	Requests         uint64 // write requests answered, whatever the answer
	PointsStored     uint64 // points written to the metrics store
	LinesRejected    uint64 // lines refused as bad (listed in 400 answers)
	PointsUnapproved uint64 // points stored flagged unapproved=true
	BatchesReplayed  uint64 // batches acknowledged as replays and dropped
	BytesReceived    uint64 // write bodies as received (compressed or not)
	BytesDecoded     uint64 // write bodies after decompression
	Failed           uint64 // requests answered 5xx
	// BatchesVerbatim counts the writes handed to the metrics store as
	// the line protocol received (metrics.LineWriter), not encoded again.
	BatchesVerbatim uint64
}

type counters struct {
	requests, stored, rejected, unapproved, replayed, received, decoded, failed, verbatim atomic.Uint64
}

// Stats returns the counters.
func (h *Handler) Stats() Stats {
	c := &h.stats
	return Stats{
		Requests: c.requests.Load(), PointsStored: c.stored.Load(), LinesRejected: c.rejected.Load(),
		PointsUnapproved: c.unapproved.Load(), BatchesReplayed: c.replayed.Load(),
		BytesReceived: c.received.Load(), BytesDecoded: c.decoded.Load(), Failed: c.failed.Load(),
		BatchesVerbatim: c.verbatim.Load(),
	}
}
