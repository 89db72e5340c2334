package command

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// remote is the --registry/--token pair of the admin commands.
type remote struct {
	URL, Token string
}

// addRemoteFlags declares --registry and --token, defaulting to
// VIGIL_REGISTRY_URL and VIGIL_REGISTRY_TOKEN.
func addRemoteFlags(fs *pflag.FlagSet, getenv func(string) string) *remote {
	r := &remote{}
	fs.StringVar(&r.URL, "registry", getenv("VIGIL_REGISTRY_URL"), "registry URL (env VIGIL_REGISTRY_URL)")
	fs.StringVar(&r.Token, "token", getenv("VIGIL_REGISTRY_TOKEN"), "admin token (env VIGIL_REGISTRY_TOKEN)")
	return r
}

func (r *remote) check() error {
	if r.URL == "" {
		return errors.New("no registry: pass --registry URL or set VIGIL_REGISTRY_URL")
	}
	u, err := url.Parse(r.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--registry %q is not an http(s) URL", r.URL)
	}
	if r.Token == "" {
		return errors.New("no token: pass --token T or set VIGIL_REGISTRY_TOKEN (serve printed the admin token on first start)")
	}
	return nil
}

// client talks to a registry's /v1 API.
type client struct {
	base, token string
	http        *http.Client
}

func (r *remote) client() *client {
	return &client{base: strings.TrimRight(r.URL, "/"), token: r.Token, http: &http.Client{Timeout: time.Minute}}
}

// do sends body as JSON and decodes a 2xx answer into out; any other
// status becomes an error carrying the registry's message.
func (c *client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encoding request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("contacting the registry: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("reading the registry's answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error   string   `json:"error"`
			Details []string `json:"details"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			if len(e.Details) > 1 {
				e.Error += "\n  " + strings.Join(e.Details, "\n  ")
			}
			return fmt.Errorf("registry: %s (HTTP %d)", e.Error, resp.StatusCode)
		}
		return fmt.Errorf("registry: HTTP %s from %s %s", resp.Status, method, path)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("decoding the registry's answer: %w", err)
		}
	}
	return nil
}
