package registryclient

import (
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// NewPlugin is what registering a plugin sends.
type NewPlugin struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	SourceURL   string `json:"source_url,omitempty"`
}

// Registration is a registered plugin and its plugin key.
type Registration struct {
	Plugin Plugin `json:"plugin"`
	// PluginKey ("vgr_...") publishes releases of this plugin only. The
	// registry shows it once: the caller must keep it.
	PluginKey string `json:"plugin_key"`
}

// RegisterPlugin registers a plugin with a publisher (or admin) token:
// POST /v1/plugins → 201. A name already taken is an *Error (409 or 400,
// with the registry's message).
func (c *Client) RegisterPlugin(ctx context.Context, p NewPlugin) (Registration, error) {
	var out Registration
	if err := c.postJSON(ctx, "/v1/plugins", p, http.StatusCreated, &out); err != nil {
		return Registration{}, fmt.Errorf("registering plugin %s: %w", p.Name, err)
	}
	return out, nil
}

// Publication is the files of one release, as `vigil plugin package`
// writes them: paths on disk.
type Publication struct {
	Plugin    string
	Version   string
	KeyID     string   // the id of the publisher key that signed SHA256SUMS
	Sums      string   // path of SHA256SUMS
	Signature string   // path of SHA256SUMS.sig
	Archives  []string // paths of vigil-plugin-<name>_<version>_<os>_<arch>.tar.gz
}

// Published is the registry's answer to a publication.
type Published struct {
	Plugin    string `json:"plugin"`
	Version   string `json:"version"`
	State     string `json:"state"`      // "pending"
	StatusURL string `json:"status_url"` // the path Release reads
}

// Publish uploads a release with a plugin key (or admin token):
// POST /v1/plugins/{name}/releases as multipart/form-data → 202. The files
// are streamed from disk, never held in memory whole; each archive part
// is named by its file's base name.
func (c *Client) Publish(ctx context.Context, p Publication) (Published, error) {
	// Open everything first, so a missing file fails before the upload.
	type part struct{ field, path string }
	parts := []part{{"SHA256SUMS", p.Sums}, {"SHA256SUMS.sig", p.Signature}}
	for _, a := range p.Archives {
		parts = append(parts, part{"archive", a})
	}
	for _, pt := range parts {
		if _, err := os.Stat(pt.path); err != nil {
			return Published{}, fmt.Errorf("publishing %s %s: %w", p.Plugin, p.Version, err)
		}
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			if err := mw.WriteField("version", p.Version); err != nil {
				return err
			}
			if err := mw.WriteField("key_id", p.KeyID); err != nil {
				return err
			}
			for _, pt := range parts {
				if err := copyPart(mw, pt.field, pt.path); err != nil {
					return err
				}
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	req, err := c.newRequest(ctx, http.MethodPost, "/v1/plugins/"+seg(p.Plugin)+"/releases", pr)
	if err != nil {
		pr.CloseWithError(err)
		return Published{}, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	var out Published
	err = c.do(req, http.StatusAccepted, &out)
	pr.CloseWithError(io.ErrClosedPipe) // stop the writer if the server answered early
	if err != nil {
		return Published{}, fmt.Errorf("publishing %s %s: %w", p.Plugin, p.Version, err)
	}
	return out, nil
}

func copyPart(mw *multipart.Writer, field, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w, err := mw.CreateFormFile(field, filepath.Base(path))
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, f); err != nil {
		return fmt.Errorf("sending %s: %w", path, err)
	}
	return nil
}

// Transition is one state change of a release.
type Transition struct {
	From   string    `json:"from"`
	To     string    `json:"to"`
	Actor  string    `json:"actor"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// Check is one check of an evaluation.
type Check struct {
	Name       string  `json:"name"`
	Passed     bool    `json:"passed"`
	Detail     string  `json:"detail"`
	DurationMS float64 `json:"duration_ms"`
}

// Report is a release's evaluation report.
type Report struct {
	Passed   bool      `json:"passed"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Checks   []Check   `json:"checks"`
}

// Release is a release's status.
type Release struct {
	Plugin          string         `json:"plugin"`
	Version         string         `json:"version"`
	State           string         `json:"state"` // pending, evaluating, passed, failed, approved, rejected, withdrawn, abandoned
	Platforms       []string       `json:"platforms"`
	ProtocolVersion int            `json:"protocol_version"`
	Manifest        map[string]any `json:"manifest"`
	History         []Transition   `json:"history"`
	Evaluation      *Report        `json:"evaluation"` // nil until evaluated
}

// Release returns a release's status (owner, plugin key or admin):
// GET /v1/plugins/{name}/releases/{version}.
func (c *Client) Release(ctx context.Context, name, version string) (Release, error) {
	var out Release
	if err := c.getJSON(ctx, "/v1/plugins/"+seg(name)+"/releases/"+seg(version), &out); err != nil {
		return Release{}, fmt.Errorf("reading release %s %s: %w", name, version, err)
	}
	return out, nil
}

// Evaluation returns a release's evaluation report:
// GET /v1/plugins/{name}/releases/{version}/evaluation.
func (c *Client) Evaluation(ctx context.Context, name, version string) (Report, error) {
	var out Report
	if err := c.getJSON(ctx, "/v1/plugins/"+seg(name)+"/releases/"+seg(version)+"/evaluation", &out); err != nil {
		return Report{}, fmt.Errorf("reading the evaluation of %s %s: %w", name, version, err)
	}
	return out, nil
}
