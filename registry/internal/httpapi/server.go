package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/vigilmon/vigil/registry/internal/store"
)

// Body limits.
const (
	MaxJSONBody   = 1 << 20   // 1 MiB
	MaxUploadBody = 512 << 20 // 512 MiB
)

// catalog is what the API needs of the store: all of it but Close.
type catalog interface {
	store.Publishers
	store.Plugins
	store.Credentials
	store.Releases
	store.Evaluations
}

// enqueuer starts the evaluation of a published release.
type enqueuer interface {
	Enqueue(plugin, version string)
}

// Config configures the API.
type Config struct {
	Store       catalog
	ArtifactDir string
	Queue       enqueuer
	Logger      hclog.Logger
	// MaxUpload overrides MaxUploadBody (tests use a small one).
	MaxUpload int64
}

// API is the /v1 handler.
type API struct {
	st        catalog
	artifacts string
	queue     enqueuer
	log       hclog.Logger
	maxUpload int64
	mux       *http.ServeMux
	publishMu sync.Mutex // serialises moving uploads into place
}

// New returns the API handler.
func New(cfg Config) *API {
	a := &API{st: cfg.Store, artifacts: cfg.ArtifactDir, queue: cfg.Queue, log: cfg.Logger, maxUpload: cfg.MaxUpload, mux: http.NewServeMux()}
	if a.log == nil {
		a.log = hclog.NewNullLogger()
	}
	if a.maxUpload <= 0 {
		a.maxUpload = MaxUploadBody
	}
	a.routes()
	return a
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// handlerFunc is an authenticated handler; a returned error is written as JSON.
type handlerFunc func(w http.ResponseWriter, r *http.Request, who store.Credential) error

func (a *API) routes() {
	a.handle("POST /v1/tokens", adminOnly, a.createToken)
	a.handle("DELETE /v1/tokens/{id}", adminOnly, a.revokeToken)
	a.handle("POST /v1/publishers/{publisher}/keys", publisherSelf, a.addKey)
	a.handle("GET /v1/publishers/{publisher}", anyRole, a.getPublisher)
	a.handle("POST /v1/plugins", registrar, a.registerPlugin)
	a.handle("GET /v1/plugins", anyRole, a.searchPlugins)
	a.handle("GET /v1/plugins/{name}", anyRole, a.getPlugin)
	a.handle("POST /v1/plugins/{name}/releases", pluginPublisher, a.publish)
	a.handle("GET /v1/plugins/{name}/releases/{version}", pluginReader, a.getRelease)
	a.handle("GET /v1/plugins/{name}/releases/{version}/evaluation", pluginReader, a.getEvaluation)
	a.handle("POST /v1/plugins/{name}/releases/{version}/{action}", adminOnly, a.releaseAction)
	a.handle("DELETE /v1/plugins/{name}/releases/{version}", adminOnly, a.deleteRelease)
	a.handle("GET /v1/releases", adminOnly, a.listReleases)
	a.handle("GET /v1/plugins/{name}/versions", anyRole, a.versions)
	a.handle("GET /v1/plugins/{name}/versions/{version}/download/{os}/{arch}", anyRole, a.download)
	a.handle("GET /v1/artifacts/{name}/{version}/{file}", anyRole, a.artifact)
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{Status: http.StatusNotFound, Message: fmt.Sprintf("no such endpoint %s %s; see docs/api.md", r.Method, r.URL.Path)})
	})
}

// handle registers pattern behind authentication and the access rule.
func (a *API) handle(pattern string, rule access, h handlerFunc) {
	a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		who, err := a.Authenticate(r)
		if err == nil {
			err = a.authorize(r, who, rule)
		}
		if err == nil {
			err = h(w, r, who)
		}
		if err != nil {
			a.fail(w, r, err)
		}
	})
}

// apiError is an error with its HTTP status and a message for a person.
type apiError struct {
	Status  int      `json:"-"`
	Message string   `json:"error"`
	Details []string `json:"details,omitempty"`
}

func (e *apiError) Error() string { return e.Message }

func errorf(status int, format string, args ...any) *apiError {
	return &apiError{Status: status, Message: fmt.Sprintf(format, args...)}
}

// WriteError writes err as the API does (JSON {"error": ...} with the
// status its kind calls for), for handlers mounted beside the API.
func (a *API) WriteError(w http.ResponseWriter, r *http.Request, err error) { a.fail(w, r, err) }

// fail writes err: an *apiError as is, a store error by its kind, anything
// else as a 500 whose cause is logged, not shown.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &mbe):
		ae = errorf(http.StatusRequestEntityTooLarge, "request body larger than %d bytes", mbe.Limit)
	case errors.Is(err, store.ErrNotFound):
		ae = errorf(http.StatusNotFound, "%v", err)
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrInvalidTransition):
		ae = errorf(http.StatusConflict, "%v", err)
	case errors.Is(err, store.ErrInvalid):
		ae = errorf(http.StatusBadRequest, "%v", err)
	case errors.Is(err, context.Canceled):
		ae = errorf(http.StatusServiceUnavailable, "request interrupted; try again")
	default:
		a.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		ae = errorf(http.StatusInternalServerError, "internal error; the registry's log has the cause")
	}
	writeError(w, ae)
}

func writeError(w http.ResponseWriter, ae *apiError) {
	if ae.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="vigil-registry"`)
	}
	writeJSON(w, ae.Status, ae)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away: nothing to tell it
}

// decodeJSON reads a request body of at most MaxJSONBody into v, refusing
// unknown fields so a typo is an error rather than silently ignored.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, MaxJSONBody)
	if err := DecodeJSON(r.Body, v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return &apiError{Status: http.StatusBadRequest, Message: err.Error()}
	}
	return nil
}

// DecodeJSON decodes exactly one JSON value from r into v, refusing
// unknown fields and trailing data.
func DecodeJSON(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("request body is empty; send a JSON object")
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return fmt.Errorf("decoding request body: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return errors.New("decoding request body: unexpected data after the JSON object")
	}
	return nil
}
