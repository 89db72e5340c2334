package ingest

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/vigilmon/vigil/registry/internal/store"
)

// tokenHelp says how to get an agent token bound to a node.
const tokenHelp = "ask the registry admin for an agent token (vigil-registry token create --role agent --node <name>)"

// secret finds the token in r as dialect d carries it:
//   - every dialect: Authorization: Bearer <token> or Token <token>;
//   - InfluxDB 1.x also: the u/p query parameters or Basic auth, the
//     password being the token (the user name is ignored; a token given as
//     the user name with an empty password is accepted too).
//
// InfluxDB 2.x clients send Token; Basic is accepted there as well, as
// InfluxDB 2 does for its 1.x compatibility.
func (d dialect) secret(r *http.Request) (string, *httpError) {
	if d == influxV1 {
		q := r.URL.Query()
		if p := q.Get("p"); p != "" {
			return p, nil
		}
		if u := q.Get("u"); u != "" {
			return u, nil
		}
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", errorf(http.StatusUnauthorized, "missing token: %s", d.authHelp())
	}
	scheme, secret, _ := strings.Cut(h, " ")
	secret = strings.TrimSpace(secret)
	switch {
	case strings.EqualFold(scheme, "Bearer"), strings.EqualFold(scheme, "Token"):
		if secret != "" {
			return secret, nil
		}
	case strings.EqualFold(scheme, "Basic") && d != vigilAPI:
		if user, pass, ok := r.BasicAuth(); ok {
			if pass != "" {
				return pass, nil
			}
			if user != "" {
				return user, nil
			}
		}
	}
	return "", errorf(http.StatusUnauthorized, "malformed Authorization header: %s", d.authHelp())
}

func (d dialect) authHelp() string {
	switch d {
	case influxV1:
		return "send the agent token as the password (the p query parameter or Basic auth) or as Authorization: Token <token>"
	case influxV2:
		return "send Authorization: Token <agent token>"
	}
	return "send Authorization: Bearer <token>"
}

// authenticate finds the credential of r's token. The lookup is by the
// secret's sha256, so its timing says nothing about the secret.
func (h *Handler) authenticate(r *http.Request, d dialect) (store.Credential, error) {
	secret, herr := d.secret(r)
	if herr != nil {
		return store.Credential{}, herr
	}
	c, err := h.cfg.Catalog.CredentialByHash(r.Context(), store.HashSecret(secret))
	if errors.Is(err, store.ErrNotFound) {
		return store.Credential{}, errorf(http.StatusUnauthorized, "unknown or revoked token: %s", tokenHelp)
	}
	if err != nil {
		return store.Credential{}, fmt.Errorf("looking up token: %w", err)
	}
	return c, nil
}

// mayWrite checks that c may write points: an agent token bound to a node,
// or the admin (whose points must name their node).
func mayWrite(c store.Credential) error {
	switch {
	case c.Role == store.RoleAdmin:
		return nil
	case c.Role == store.RoleAgent && c.Node == "":
		return errorf(http.StatusForbidden, "this agent token is bound to no node, so its points cannot be attributed: %s", tokenHelp)
	case c.Role == store.RoleAgent:
		return nil
	}
	return errorf(http.StatusForbidden, "forbidden for this %s: only agent tokens (and the admin) may write points", roleName(c))
}

// mayReadNode checks that c may read or describe node: the admin, or the
// agent token bound to it.
func mayReadNode(c store.Credential, node string) error {
	switch {
	case c.Role == store.RoleAdmin:
		return nil
	case c.Role == store.RoleAgent && c.Node == "":
		return errorf(http.StatusForbidden, "this agent token is bound to no node: %s", tokenHelp)
	case c.Role == store.RoleAgent && c.Node == node:
		return nil
	case c.Role == store.RoleAgent:
		return errorf(http.StatusForbidden, "forbidden for this agent token: it is for node %q, not %q", c.Node, node)
	}
	return errorf(http.StatusForbidden, "forbidden for this %s: only the admin and the node's own agent token may do this", roleName(c))
}

func roleName(c store.Credential) string {
	if c.Role == store.RolePlugin {
		return fmt.Sprintf("plugin key of %q", c.Plugin)
	}
	return string(c.Role) + " token"
}
