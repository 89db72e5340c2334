package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vigilmon/vigil/registry/internal/store"
	"github.com/vigilmon/vigil/sdk/release"
)

// TokenRequest is the body of POST /v1/tokens.
type TokenRequest struct {
	Role      string `json:"role"`
	Publisher string `json:"publisher,omitempty"`
	Node      string `json:"node,omitempty"`
}

// TokenResponse is a created token; Secret is shown only here.
type TokenResponse struct {
	ID        int64  `json:"id"`
	Role      string `json:"role"`
	Secret    string `json:"secret"`
	Publisher string `json:"publisher,omitempty"`
	Node      string `json:"node,omitempty"`
}

// Validate checks a token request without touching the store.
func (t TokenRequest) Validate() error {
	switch store.Role(t.Role) {
	case store.RoleAdmin, store.RoleAgent:
		if t.Publisher != "" {
			return fmt.Errorf("publisher is only for role publisher, not %s", t.Role)
		}
	case store.RolePublisher:
		if err := validPublisherName(t.Publisher); err != nil {
			return err
		}
	default:
		return fmt.Errorf("role %q is not one of admin, publisher, agent (plugin keys come from registering a plugin)", t.Role)
	}
	if t.Node != "" && store.Role(t.Role) != store.RoleAgent {
		return fmt.Errorf("node is only for role agent, not %s", t.Role)
	}
	return nil
}

func validPublisherName(name string) error {
	if name == "" {
		return errors.New("publisher is required for role publisher")
	}
	if err := release.ValidName(name); err != nil {
		return fmt.Errorf("invalid publisher name %q: want a lowercase letter followed by lowercase letters, digits, '_' or '-'", name)
	}
	return nil
}

func (a *API) createToken(w http.ResponseWriter, r *http.Request, _ store.Credential) error {
	var req TokenRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := req.Validate(); err != nil {
		return errorf(http.StatusBadRequest, "%v", err)
	}
	secret, hash := store.NewSecret()
	c := store.Credential{Role: store.Role(req.Role), Hash: hash, Node: req.Node}
	if c.Role == store.RolePublisher {
		p, err := a.publisherByName(r.Context(), req.Publisher, true)
		if err != nil {
			return err
		}
		c.Publisher = p.ID
	}
	c, err := a.st.CreateCredential(r.Context(), c)
	if err != nil {
		return fmt.Errorf("creating token: %w", err)
	}
	writeJSON(w, http.StatusCreated, TokenResponse{ID: c.ID, Role: string(c.Role), Secret: secret, Publisher: req.Publisher, Node: c.Node})
	return nil
}

// publisherByName finds a publisher, creating it if create is set.
func (a *API) publisherByName(ctx context.Context, name string, create bool) (store.Publisher, error) {
	all, err := a.st.ListPublishers(ctx)
	if err != nil {
		return store.Publisher{}, fmt.Errorf("listing publishers: %w", err)
	}
	for _, p := range all {
		if p.Name == name {
			return p, nil
		}
	}
	if !create {
		return store.Publisher{}, errorf(http.StatusNotFound, "no publisher %q", name)
	}
	p, err := a.st.CreatePublisher(ctx, name)
	if errors.Is(err, store.ErrConflict) { // created meanwhile
		return a.publisherByName(ctx, name, false)
	}
	if err != nil {
		return store.Publisher{}, fmt.Errorf("creating publisher %q: %w", name, err)
	}
	return p, nil
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request, _ store.Credential) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return errorf(http.StatusBadRequest, "token id %q is not a number", r.PathValue("id"))
	}
	if err := a.st.RevokeCredential(r.Context(), id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errorf(http.StatusNotFound, "no active token %d", id)
		}
		return fmt.Errorf("revoking token %d: %w", id, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// KeyJSON is a publisher's signing key.
type KeyJSON struct {
	KeyID     string `json:"key_id"`
	PublicKey string `json:"public_key"`
}

// PublisherJSON is GET /v1/publishers/{name}.
type PublisherJSON struct {
	Name string    `json:"name"`
	Keys []KeyJSON `json:"keys"`
}

func (a *API) addKey(w http.ResponseWriter, r *http.Request, _ store.Credential) error {
	var req struct {
		PublicKey string `json:"public_key"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	pub, err := release.ParsePublicKey(req.PublicKey)
	if err != nil {
		return errorf(http.StatusBadRequest, "%v (the public key `vigil plugin keygen` printed)", err)
	}
	p, err := a.publisherByName(r.Context(), r.PathValue("publisher"), false)
	if err != nil {
		return err
	}
	k, err := a.st.AddSigningKey(r.Context(), p.ID, release.KeyID(pub), []byte(pub))
	if errors.Is(err, store.ErrConflict) {
		return errorf(http.StatusConflict, "key %s is already registered", release.KeyID(pub))
	}
	if err != nil {
		return fmt.Errorf("adding key: %w", err)
	}
	writeJSON(w, http.StatusCreated, KeyJSON{KeyID: k.ID, PublicKey: release.PublicKey(k.PublicKey).String()})
	return nil
}

func (a *API) getPublisher(w http.ResponseWriter, r *http.Request, _ store.Credential) error {
	p, err := a.publisherByName(r.Context(), r.PathValue("publisher"), false)
	if err != nil {
		return err
	}
	out := PublisherJSON{Name: p.Name, Keys: []KeyJSON{}}
	for _, k := range p.Keys {
		out.Keys = append(out.Keys, KeyJSON{KeyID: k.ID, PublicKey: release.PublicKey(k.PublicKey).String()})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// PluginJSON is a plugin as the API shows it.
type PluginJSON struct {
	Name        string     `json:"name"`
	Owner       string     `json:"owner"`
	Description string     `json:"description"`
	SourceURL   string     `json:"source_url"`
	Latest      string     `json:"latest,omitempty"`
	Created     *time.Time `json:"created,omitempty"`
}

// PluginRequest is the body of POST /v1/plugins. Owner is for the admin,
// who registers on a publisher's behalf; a publisher's token implies it.
type PluginRequest struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	SourceURL   string `json:"source_url"`
	Owner       string `json:"owner,omitempty"`
}

func (a *API) registerPlugin(w http.ResponseWriter, r *http.Request, who store.Credential) error {
	var req PluginRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := release.ValidName(req.Name); err != nil {
		return errorf(http.StatusBadRequest, "%v", err)
	}
	if req.SourceURL != "" && !strings.HasPrefix(req.SourceURL, "https://") && !strings.HasPrefix(req.SourceURL, "http://") {
		return errorf(http.StatusBadRequest, "source_url %q is not an http(s) URL", req.SourceURL)
	}
	var owner store.Publisher
	var err error
	switch {
	case who.Role == store.RolePublisher && req.Owner == "":
		owner, err = a.st.Publisher(r.Context(), who.Publisher)
	case who.Role == store.RolePublisher:
		return errorf(http.StatusBadRequest, "owner is for the admin; a publisher registers plugins for itself")
	case req.Owner == "":
		return errorf(http.StatusBadRequest, "owner is required when the admin registers a plugin: the publisher that will own it")
	default:
		owner, err = a.publisherByName(r.Context(), req.Owner, false)
	}
	if err != nil {
		return err
	}
	p, err := a.st.CreatePlugin(r.Context(), store.Plugin{Name: req.Name, Owner: owner.ID, Description: req.Description, SourceURL: req.SourceURL})
	if errors.Is(err, store.ErrConflict) {
		return errorf(http.StatusConflict, "plugin %q is already registered; pick another name", req.Name)
	}
	if err != nil {
		return fmt.Errorf("registering plugin: %w", err)
	}
	secret, hash := store.NewSecret()
	if _, err := a.st.CreateCredential(r.Context(), store.Credential{Role: store.RolePlugin, Hash: hash, Plugin: p.Name}); err != nil {
		return fmt.Errorf("creating plugin key: %w", err)
	}
	writeJSON(w, http.StatusCreated, struct {
		Plugin    PluginJSON `json:"plugin"`
		PluginKey string     `json:"plugin_key"`
	}{pluginJSON(p, owner.Name, ""), secret})
	return nil
}

func pluginJSON(p store.Plugin, owner, latest string) PluginJSON {
	created := p.Created.UTC()
	return PluginJSON{Name: p.Name, Owner: owner, Description: p.Description, SourceURL: p.SourceURL, Latest: latest, Created: &created}
}

func (a *API) getPlugin(w http.ResponseWriter, r *http.Request, _ store.Credential) error {
	p, err := a.plugin(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	owner, err := a.st.Publisher(r.Context(), p.Owner)
	if err != nil {
		return fmt.Errorf("reading owner: %w", err)
	}
	writeJSON(w, http.StatusOK, pluginJSON(p, owner.Name, ""))
	return nil
}

func (a *API) plugin(ctx context.Context, name string) (store.Plugin, error) {
	p, err := a.st.Plugin(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return store.Plugin{}, errorf(http.StatusNotFound, "no plugin %q is registered", name)
	}
	if err != nil {
		return store.Plugin{}, fmt.Errorf("reading plugin %q: %w", name, err)
	}
	return p, nil
}

func (a *API) searchPlugins(w http.ResponseWriter, r *http.Request, _ store.Credential) error {
	q := strings.ToLower(r.URL.Query().Get("q"))
	all, err := a.st.ListPlugins(r.Context(), 0)
	if err != nil {
		return fmt.Errorf("listing plugins: %w", err)
	}
	pubs, err := a.st.ListPublishers(r.Context())
	if err != nil {
		return fmt.Errorf("listing publishers: %w", err)
	}
	names := map[int64]string{}
	for _, p := range pubs {
		names[p.ID] = p.Name
	}
	out := []PluginJSON{}
	for _, p := range all {
		if q != "" && !strings.Contains(strings.ToLower(p.Name), q) && !strings.Contains(strings.ToLower(p.Description), q) {
			continue
		}
		rels, err := a.st.ListReleases(r.Context(), store.ReleaseQuery{Plugin: p.Name, States: []store.State{store.Approved}})
		if err != nil {
			return fmt.Errorf("listing releases of %s: %w", p.Name, err)
		}
		sortNewestFirst(rels)
		latest := ""
		if len(rels) > 0 {
			latest = rels[0].Version
		}
		pj := pluginJSON(p, names[p.Owner], latest)
		pj.Created = nil
		out = append(out, pj)
	}
	writeJSON(w, http.StatusOK, map[string]any{"plugins": out})
	return nil
}
