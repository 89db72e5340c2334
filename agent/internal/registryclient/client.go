package registryclient

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
)

// maxJSON bounds a JSON response body, as the registry bounds requests.
const maxJSON = 1 << 20

// Client talks to one registry. It is safe for concurrent use.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
}

// New returns a client for the registry at baseURL ("https://host[:port]",
// optionally with a path prefix) authenticating with token (empty: none).
// A nil httpClient means http.DefaultClient; deadlines come from the ctx of
// each call, so the client needs no timeout of its own.
func New(baseURL, token string, httpClient *http.Client) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("registry URL %q is not an http or https URL", baseURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	return &Client{base: u, token: token, http: httpClient}, nil
}

// URL returns the registry's base URL as given to New, without a trailing
// slash: the source the lock file records.
func (c *Client) URL() string { return c.base.String() }

// Error is a response with a status other than the one expected: the
// registry's JSON {"error", "details"} with the status. Callers branch on
// StatusCode (404: no such plugin or version; 401/403: token; 409: state).
type Error struct {
	StatusCode int      // the HTTP status
	Message    string   // the registry's "error", or the status text when the body has none
	Details    []string // the registry's "details" (validation errors), if any
	Method     string   // the request's method
	Path       string   // the request's path
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%s %s: %d: %s", e.Method, e.Path, e.StatusCode, e.Message)
	if len(e.Details) > 0 {
		msg += " (" + strings.Join(e.Details, "; ") + ")"
	}
	return msg
}

// IsNotFound reports whether err is an *Error with status 404.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == http.StatusNotFound
}

// resolve turns an API path ("/v1/...", possibly with a query) into an
// absolute URL under the base URL.
func (c *Client) resolve(path string) (string, error) {
	ref, err := url.Parse(path)
	if err != nil {
		return "", fmt.Errorf("bad registry path %q: %w", path, err)
	}
	if ref.IsAbs() || ref.Host != "" {
		return "", fmt.Errorf("registry path %q is not a path on the registry", path)
	}
	u := *c.base
	u.Path = c.base.Path + "/" + strings.TrimPrefix(ref.Path, "/")
	u.RawPath = ""
	u.RawQuery = ref.RawQuery
	return u.String(), nil
}

// newRequest builds a request for path with the token set.
func (c *Client) newRequest(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	u, err := c.resolve(path)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

// do sends req and decodes a JSON response with status want into out
// (nil: discard).
func (c *Client) do(req *http.Request, want int, out any) error {
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		return responseError(req, resp)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxJSON))
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxJSON+1))
	if err != nil {
		return fmt.Errorf("%s %s: reading the response: %w", req.Method, req.URL.Path, err)
	}
	if len(b) > maxJSON {
		return fmt.Errorf("%s %s: response larger than %d bytes", req.Method, req.URL.Path, maxJSON)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decoding the response: %w", req.Method, req.URL.Path, err)
	}
	return nil
}

// responseError reads the registry's error body.
func responseError(req *http.Request, resp *http.Response) error {
	e := &Error{StatusCode: resp.StatusCode, Method: req.Method, Path: req.URL.Path}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var body struct {
		Error   string   `json:"error"`
		Details []string `json:"details"`
	}
	if json.Unmarshal(b, &body) == nil && body.Error != "" {
		e.Message, e.Details = body.Error, body.Details
	} else {
		e.Message = http.StatusText(resp.StatusCode)
		if s := strings.TrimSpace(string(b)); s != "" && len(s) < 200 {
			e.Message += ": " + s
		}
	}
	return e
}

// getJSON GETs path and decodes a 200 response into out.
func (c *Client) getJSON(ctx context.Context, path string, out any) error {
	req, err := c.newRequest(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	return c.do(req, http.StatusOK, out)
}

// postJSON POSTs in as JSON to path and decodes a response with status
// want into out.
func (c *Client) postJSON(ctx context.Context, path string, in any, want int, out any) error {
	return c.sendJSON(ctx, http.MethodPost, path, in, want, out)
}

// sendJSON sends in as JSON to path with method and decodes a response
// with status want into out.
func (c *Client) sendJSON(ctx context.Context, method, path string, in any, want int, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := c.newRequest(ctx, method, path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	return c.do(req, want, out)
}

// seg escapes one path segment.
func seg(s string) string { return url.PathEscape(s) }
