package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/vigilmon/vigil/registry/internal/evaluate"
	"github.com/vigilmon/vigil/registry/internal/store"
)

// ReleaseJSON is a release as the API shows it to its owner and the admin.
type ReleaseJSON struct {
	Plugin          string           `json:"plugin"`
	Version         string           `json:"version"`
	State           store.State      `json:"state"`
	Platforms       []string         `json:"platforms"`
	ProtocolVersion int              `json:"protocol_version,omitempty"`
	Manifest        json.RawMessage  `json:"manifest"`
	Created         time.Time        `json:"created"`
	History         []TransitionJSON `json:"history"`
	Evaluation      json.RawMessage  `json:"evaluation"`
}

// TransitionJSON is one recorded state change.
type TransitionJSON struct {
	From   store.State `json:"from"`
	To     store.State `json:"to"`
	Actor  string      `json:"actor"`
	Reason string      `json:"reason,omitempty"`
	At     time.Time   `json:"at"`
}

// release reads a release, a 404 naming it if it does not exist.
func (a *API) release(ctx context.Context, plugin, version string) (store.Release, error) {
	rel, err := a.st.Release(ctx, plugin, version)
	if errors.Is(err, store.ErrNotFound) {
		return store.Release{}, errorf(http.StatusNotFound, "plugin %q has no release %s", plugin, version)
	}
	if err != nil {
		return store.Release{}, fmt.Errorf("reading release %s %s: %w", plugin, version, err)
	}
	return rel, nil
}

// latestReport returns a release's newest evaluation report, nil if none.
func (a *API) latestReport(ctx context.Context, rel store.Release) (json.RawMessage, *evaluate.Report, error) {
	evs, err := a.st.Evaluations(ctx, rel.Plugin, rel.Version)
	if err != nil {
		return nil, nil, fmt.Errorf("reading evaluations of %s %s: %w", rel.Plugin, rel.Version, err)
	}
	if len(evs) == 0 {
		return nil, nil, nil
	}
	raw := evs[len(evs)-1].Report
	var rep evaluate.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		return nil, nil, fmt.Errorf("decoding evaluation of %s %s: %w", rel.Plugin, rel.Version, err)
	}
	return raw, &rep, nil
}

func (a *API) releaseJSON(ctx context.Context, rel store.Release) (ReleaseJSON, error) {
	out := ReleaseJSON{Plugin: rel.Plugin, Version: rel.Version, State: rel.State, Platforms: platforms(rel), Manifest: rel.Manifest, Created: rel.Created.UTC(), History: []TransitionJSON{}}
	raw, rep, err := a.latestReport(ctx, rel)
	if err != nil {
		return out, err
	}
	if rep != nil {
		out.Evaluation, out.ProtocolVersion = raw, rep.ProtocolVersion
		if len(rep.Manifest) > 0 && (len(out.Manifest) == 0 || string(out.Manifest) == "null") {
			out.Manifest = rep.Manifest
		}
	}
	if len(out.Manifest) == 0 {
		out.Manifest = json.RawMessage("null")
	}
	if out.Evaluation == nil {
		out.Evaluation = json.RawMessage("null")
	}
	hist, err := a.st.History(ctx, rel.Plugin, rel.Version)
	if err != nil {
		return out, fmt.Errorf("reading history: %w", err)
	}
	for _, h := range hist {
		out.History = append(out.History, TransitionJSON{From: h.From, To: h.To, Actor: h.Actor, Reason: h.Reason, At: h.At.UTC()})
	}
	return out, nil
}

func platforms(rel store.Release) []string {
	out := []string{}
	for _, art := range rel.Artifacts {
		out = append(out, art.OS+"/"+art.Arch)
	}
	return out
}

func (a *API) getRelease(w http.ResponseWriter, r *http.Request, _ store.Credential) error {
	rel, err := a.release(r.Context(), r.PathValue("name"), r.PathValue("version"))
	if err != nil {
		return err
	}
	out, err := a.releaseJSON(r.Context(), rel)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) getEvaluation(w http.ResponseWriter, r *http.Request, _ store.Credential) error {
	rel, err := a.release(r.Context(), r.PathValue("name"), r.PathValue("version"))
	if err != nil {
		return err
	}
	raw, _, err := a.latestReport(r.Context(), rel)
	if err != nil {
		return err
	}
	if raw == nil {
		return errorf(http.StatusNotFound, "%s %s has no evaluation report yet (state %s); try again shortly", rel.Plugin, rel.Version, rel.State)
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(raw)
	return nil
}

// actions maps the admin's verbs to the state they move a release to, and
// whether they need a reason.
var actions = map[string]struct {
	to     store.State
	reason bool
}{
	"approve":  {store.Approved, false},
	"reject":   {store.Rejected, true},
	"withdraw": {store.Withdrawn, true},
	"abandon":  {store.Abandoned, true},
}

// ActionRequest is the body of POST .../releases/{version}/{action}.
type ActionRequest struct {
	Reason string `json:"reason"`
}

func (a *API) releaseAction(w http.ResponseWriter, r *http.Request, who store.Credential) error {
	name, version, verb := r.PathValue("name"), r.PathValue("version"), r.PathValue("action")
	act, ok := actions[verb]
	if !ok {
		return errorf(http.StatusNotFound, "no release action %q: want approve, reject, withdraw or abandon", verb)
	}
	var req ActionRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &req); err != nil {
			return err
		}
	}
	if act.reason && req.Reason == "" {
		return errorf(http.StatusBadRequest, "%s needs a reason: send {\"reason\": \"...\"}", verb)
	}
	rel, err := a.st.TransitionRelease(r.Context(), name, version, act.to, actor(who), req.Reason)
	switch {
	case errors.Is(err, store.ErrInvalidTransition):
		cur, rerr := a.release(r.Context(), name, version)
		if rerr != nil {
			return rerr
		}
		return errorf(http.StatusConflict, "cannot %s %s %s: it is %s, and %s → %s is not allowed", verb, name, version, cur.State, cur.State, act.to)
	case errors.Is(err, store.ErrNotFound):
		return errorf(http.StatusNotFound, "plugin %q has no release %s", name, version)
	case err != nil:
		return fmt.Errorf("%s %s %s: %w", verb, name, version, err)
	}
	a.log.Info("release "+string(act.to), "plugin", name, "version", version, "actor", actor(who), "reason", req.Reason)
	out, err := a.releaseJSON(r.Context(), rel)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// actor is how a credential is recorded in a release's history.
func actor(who store.Credential) string {
	return fmt.Sprintf("%s:%d", who.Role, who.ID)
}

// deleteRelease removes a release from the catalog, then its archives
// (<artifacts>/<plugin>/<version>). The directory is named from the stored
// release, never from the request path, so it is always a checked name and
// semantic version. Under publishMu, so that it does not race a publish of
// the same version moving its upload into place.
func (a *API) deleteRelease(w http.ResponseWriter, r *http.Request, who store.Credential) error {
	rel, err := a.release(r.Context(), r.PathValue("name"), r.PathValue("version"))
	if err != nil {
		return err
	}
	a.publishMu.Lock()
	defer a.publishMu.Unlock()
	err = a.st.DeleteRelease(r.Context(), rel.Plugin, rel.Version, actor(who))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errorf(http.StatusNotFound, "plugin %q has no release %s", rel.Plugin, rel.Version)
	case err != nil:
		return fmt.Errorf("deleting %s %s: %w", rel.Plugin, rel.Version, err)
	}
	if err := os.RemoveAll(filepath.Join(a.artifacts, rel.Plugin, rel.Version)); err != nil {
		// The catalog no longer has the release, so nothing serves these
		// files; a later publish of the same version removes the leftover.
		a.log.Error("removing the archives of a deleted release", "plugin", rel.Plugin, "version", rel.Version, "error", err)
	}
	a.log.Info("release deleted", "plugin", rel.Plugin, "version", rel.Version, "state", rel.State, "actor", actor(who))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listReleases(w http.ResponseWriter, r *http.Request, _ store.Credential) error {
	q := store.ReleaseQuery{Plugin: r.URL.Query().Get("plugin")}
	if s := r.URL.Query().Get("state"); s != "" {
		if !store.State(s).Valid() {
			return errorf(http.StatusBadRequest, "unknown state %q: want one of %v", s, store.States)
		}
		q.States = []store.State{store.State(s)}
	}
	rels, err := a.st.ListReleases(r.Context(), q)
	if err != nil {
		return fmt.Errorf("listing releases: %w", err)
	}
	out := []ReleaseJSON{}
	for _, rel := range rels {
		rj, err := a.releaseJSON(r.Context(), rel)
		if err != nil {
			return err
		}
		out = append(out, rj)
	}
	writeJSON(w, http.StatusOK, map[string]any{"releases": out})
	return nil
}
