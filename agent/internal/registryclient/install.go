package registryclient

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// PluginSummary is one search result.
type PluginSummary struct {
	Name        string `json:"name"`
	Owner       string `json:"owner"`
	Description string `json:"description"`
	SourceURL   string `json:"source_url"`
	Latest      string `json:"latest"` // newest installable version; "" when none
}

// Search lists plugins whose name or description matches text (all
// plugins for ""): GET /v1/plugins?q=.
func (c *Client) Search(ctx context.Context, text string) ([]PluginSummary, error) {
	var out struct {
		Plugins []PluginSummary `json:"plugins"`
	}
	if err := c.getJSON(ctx, "/v1/plugins?q="+url.QueryEscape(text), &out); err != nil {
		return nil, fmt.Errorf("searching plugins: %w", err)
	}
	return out.Plugins, nil
}

// Plugin is a registered plugin.
type Plugin struct {
	Name        string    `json:"name"`
	Owner       string    `json:"owner"`
	Description string    `json:"description"`
	SourceURL   string    `json:"source_url"`
	Created     time.Time `json:"created"`
}

// Plugin returns one plugin: GET /v1/plugins/{name}.
func (c *Client) Plugin(ctx context.Context, name string) (Plugin, error) {
	var out Plugin
	if err := c.getJSON(ctx, "/v1/plugins/"+seg(name), &out); err != nil {
		return Plugin{}, fmt.Errorf("reading plugin %s: %w", name, err)
	}
	return out, nil
}

// Version is one installable version of a plugin.
type Version struct {
	Version          string   `json:"version"`
	Platforms        []string `json:"platforms"` // "os/arch"
	ProtocolVersions []int    `json:"protocol_versions"`
	Withdrawn        bool     `json:"withdrawn,omitempty"`
}

// Versions lists a plugin's approved versions, newest first, and with
// includeWithdrawn the withdrawn ones too: GET /v1/plugins/{name}/versions.
// An unknown plugin is an *Error with StatusCode 404.
func (c *Client) Versions(ctx context.Context, name string, includeWithdrawn bool) ([]Version, error) {
	path := "/v1/plugins/" + seg(name) + "/versions"
	if includeWithdrawn {
		path += "?include=withdrawn"
	}
	var out struct {
		Versions []Version `json:"versions"`
	}
	if err := c.getJSON(ctx, path, &out); err != nil {
		return nil, fmt.Errorf("listing versions of %s: %w", name, err)
	}
	return out.Versions, nil
}

// Download is the descriptor of one release archive for one platform.
type Download struct {
	Plugin              string `json:"plugin"`
	Version             string `json:"version"`
	OS                  string `json:"os"`
	Arch                string `json:"arch"`
	Filename            string `json:"filename"`              // the archive's file name
	URL                 string `json:"url"`                   // the archive, a path on the registry
	SHA256              string `json:"sha256"`                // the archive's sha256, hex
	Size                int64  `json:"size"`                  // the archive's size in bytes
	ShasumsURL          string `json:"shasums_url"`           // SHA256SUMS
	ShasumsSignatureURL string `json:"shasums_signature_url"` // SHA256SUMS.sig
	KeyID               string `json:"key_id"`                // the key that signed SHA256SUMS
	PublicKey           string `json:"public_key"`            // "ed25519:<base64>"
}

// Download returns the descriptor of version's archive for os/arch:
// GET /v1/plugins/{name}/versions/{version}/download/{os}/{arch}; with
// allowWithdrawn a withdrawn (exact) version is allowed.
func (c *Client) Download(ctx context.Context, name, version, goos, goarch string, allowWithdrawn bool) (Download, error) {
	path := "/v1/plugins/" + seg(name) + "/versions/" + seg(version) + "/download/" + seg(goos) + "/" + seg(goarch)
	if allowWithdrawn {
		path += "?allow_withdrawn=true"
	}
	var out Download
	if err := c.getJSON(ctx, path, &out); err != nil {
		return Download{}, fmt.Errorf("reading the download of %s %s for %s/%s: %w", name, version, goos, goarch, err)
	}
	return out, nil
}

// Fetch streams the artifact at path (a URL from a Download, such as
// "/v1/artifacts/hello/1.0.0/SHA256SUMS") into w and returns the bytes
// written. It stops at max bytes (max <= 0: no limit) with an error, and
// when ctx is done. progress, when not nil, is called with the running
// total and the Content-Length (-1 when unknown) as bytes arrive.
func (c *Client) Fetch(ctx context.Context, path string, w io.Writer, max int64, progress func(done, total int64)) (int64, error) {
	req, err := c.newRequest(ctx, http.MethodGet, path, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("downloading %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("downloading %s: %w", path, responseError(req, resp))
	}
	if max > 0 && resp.ContentLength > max {
		return 0, fmt.Errorf("downloading %s: %d bytes, more than the %d allowed", path, resp.ContentLength, max)
	}
	var r io.Reader = resp.Body
	if max > 0 {
		r = io.LimitReader(r, max+1)
	}
	if progress != nil {
		r = &progressReader{r: r, total: resp.ContentLength, fn: progress}
	}
	n, err := io.Copy(w, r)
	if err != nil {
		return n, fmt.Errorf("downloading %s: %w", path, err)
	}
	if max > 0 && n > max {
		return n, fmt.Errorf("downloading %s: more than the %d bytes allowed", path, max)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return n, fmt.Errorf("downloading %s: got %d of %d bytes", path, n, resp.ContentLength)
	}
	return n, nil
}

type progressReader struct {
	r     io.Reader
	done  int64
	total int64
	fn    func(done, total int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.done += int64(n)
		p.fn(p.done, p.total)
	}
	return n, err
}
