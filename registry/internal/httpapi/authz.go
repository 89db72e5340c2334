package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/vigilmon/vigil/registry/internal/store"
)

// access is who may call an endpoint. Every route names one; this file is
// the only place roles and scopes are checked.
type access int

const (
	// anyRole: any valid token (admin, publisher, plugin key, agent).
	anyRole access = iota
	// adminOnly: the admin.
	adminOnly
	// publisherSelf: the admin, or the publisher named by {publisher}.
	publisherSelf
	// registrar: the admin or any publisher (registers plugins).
	registrar
	// pluginPublisher: the admin, or the plugin key of {name}.
	pluginPublisher
	// pluginReader: the admin, the plugin key of {name}, or its owner.
	pluginReader
)

// Authenticate finds the credential of the request's bearer token. The
// lookup is by the secret's sha256 (see store.HashSecret), so its timing
// says nothing about the secret.
// Other handlers mounted beside the API (ingest, queries) use it too; an
// error it returns carries its HTTP status for WriteError.
func (a *API) Authenticate(r *http.Request) (store.Credential, error) {
	h := r.Header.Get("Authorization")
	scheme, secret, ok := strings.Cut(h, " ")
	if h == "" {
		return store.Credential{}, errorf(http.StatusUnauthorized, "missing token: send an Authorization: Bearer <token> header")
	}
	secret = strings.TrimSpace(secret)
	if !ok || !strings.EqualFold(scheme, "Bearer") || secret == "" {
		return store.Credential{}, errorf(http.StatusUnauthorized, "malformed Authorization header: want Bearer <token>")
	}
	c, err := a.st.CredentialByHash(r.Context(), store.HashSecret(secret))
	if errors.Is(err, store.ErrNotFound) {
		return store.Credential{}, errorf(http.StatusUnauthorized, "unknown or revoked token: ask the registry admin for a new one")
	}
	if err != nil {
		return store.Credential{}, fmt.Errorf("looking up token: %w", err)
	}
	return c, nil
}

// authorize applies rule to who for request r.
func (a *API) authorize(r *http.Request, who store.Credential, rule access) error {
	if who.Role == store.RoleAdmin {
		return nil
	}
	switch rule {
	case anyRole:
		return nil
	case adminOnly:
		return forbidden(who, "only the registry admin may do this")
	case registrar:
		if who.Role == store.RolePublisher {
			return nil
		}
		return forbidden(who, "only a publisher token may register plugins")
	case publisherSelf:
		if who.Role == store.RolePublisher {
			p, err := a.st.Publisher(r.Context(), who.Publisher)
			if err != nil {
				return fmt.Errorf("reading the token's publisher: %w", err)
			}
			if p.Name == r.PathValue("publisher") {
				return nil
			}
		}
		return forbidden(who, fmt.Sprintf("only publisher %q or the admin may do this", r.PathValue("publisher")))
	case pluginPublisher, pluginReader:
		name := r.PathValue("name")
		if who.Role == store.RolePlugin && who.Plugin == name {
			return nil
		}
		if rule == pluginReader && who.Role == store.RolePublisher {
			p, err := a.st.Plugin(r.Context(), name)
			if err != nil {
				return fmt.Errorf("reading plugin %q: %w", name, err)
			}
			if p.Owner == who.Publisher {
				return nil
			}
		}
		if rule == pluginPublisher {
			return forbidden(who, fmt.Sprintf("only the plugin key of %q may publish its releases", name))
		}
		return forbidden(who, fmt.Sprintf("only the owner of %q, its plugin key or the admin may read its releases", name))
	}
	return forbidden(who, "not allowed")
}

func forbidden(who store.Credential, why string) error {
	what := string(who.Role) + " token"
	if who.Role == store.RolePlugin {
		what = fmt.Sprintf("plugin key of %q", who.Plugin)
	}
	return errorf(http.StatusForbidden, "forbidden for this %s: %s", what, why)
}

// downloadable reports whether who may download rel: approved releases for
// every role; a withdrawn one only when asked for by exact version with
// allowWithdrawn; anything, abandoned included, for the admin. A release
// that is not downloadable is a 404, so its existence is not disclosed.
func downloadable(who store.Credential, rel store.Release, allowWithdrawn bool) bool {
	switch {
	case who.Role == store.RoleAdmin:
		return true
	case rel.State == store.Approved:
		return true
	case rel.State == store.Withdrawn:
		return allowWithdrawn
	}
	return false
}
