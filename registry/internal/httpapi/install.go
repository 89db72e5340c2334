package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"

	"github.com/vigilmon/vigil/registry/internal/store"
	"github.com/vigilmon/vigil/sdk/release"
)

// VersionJSON is one installable version.
type VersionJSON struct {
	Version          string   `json:"version"`
	Platforms        []string `json:"platforms"`
	ProtocolVersions []int    `json:"protocol_versions"`
	Withdrawn        bool     `json:"withdrawn,omitempty"`
}

func (a *API) versions(w http.ResponseWriter, r *http.Request, _ store.Credential) error {
	name := r.PathValue("name")
	if _, err := a.plugin(r.Context(), name); err != nil {
		return err
	}
	states := []store.State{store.Approved}
	switch inc := r.URL.Query().Get("include"); inc {
	case "":
	case "withdrawn":
		states = append(states, store.Withdrawn)
	default:
		return errorf(http.StatusBadRequest, "include=%q: the only value is withdrawn", inc)
	}
	rels, err := a.st.ListReleases(r.Context(), store.ReleaseQuery{Plugin: name, States: states})
	if err != nil {
		return fmt.Errorf("listing versions of %s: %w", name, err)
	}
	sortNewestFirst(rels)
	out := []VersionJSON{}
	for _, rel := range rels {
		v := VersionJSON{Version: rel.Version, Platforms: platforms(rel), ProtocolVersions: []int{}, Withdrawn: rel.State == store.Withdrawn}
		_, rep, err := a.latestReport(r.Context(), rel)
		if err != nil {
			return err
		}
		if rep != nil && rep.ProtocolVersion != 0 {
			v.ProtocolVersions = append(v.ProtocolVersions, rep.ProtocolVersion)
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"plugin": name, "versions": out})
	return nil
}

// DownloadJSON is the download descriptor of one release archive.
type DownloadJSON struct {
	Plugin              string `json:"plugin"`
	Version             string `json:"version"`
	OS                  string `json:"os"`
	Arch                string `json:"arch"`
	Filename            string `json:"filename"`
	URL                 string `json:"url"`
	SHA256              string `json:"sha256"`
	Size                int64  `json:"size"`
	ShasumsURL          string `json:"shasums_url"`
	ShasumsSignatureURL string `json:"shasums_signature_url"`
	KeyID               string `json:"key_id"`
	PublicKey           string `json:"public_key"`
}

// offered reads a release that who may download, or a 404.
func (a *API) offered(r *http.Request, who store.Credential) (store.Release, error) {
	name, version := r.PathValue("name"), r.PathValue("version")
	rel, err := a.st.Release(r.Context(), name, version)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.Release{}, fmt.Errorf("reading release %s %s: %w", name, version, err)
	}
	allow := r.URL.Query().Get("allow_withdrawn") == "true"
	if err != nil || !downloadable(who, rel, allow) {
		msg := fmt.Sprintf("plugin %q has no installable version %s; GET /v1/plugins/%s/versions lists them", name, version, name)
		if err == nil && rel.State == store.Withdrawn {
			msg = fmt.Sprintf("%s %s was withdrawn; add ?allow_withdrawn=true to download it anyway", name, version)
		}
		return store.Release{}, errorf(http.StatusNotFound, "%s", msg)
	}
	return rel, nil
}

func (a *API) download(w http.ResponseWriter, r *http.Request, who store.Credential) error {
	rel, err := a.offered(r, who)
	if err != nil {
		return err
	}
	goos, arch := r.PathValue("os"), r.PathValue("arch")
	i := slices.IndexFunc(rel.Artifacts, func(x store.Artifact) bool { return x.OS == goos && x.Arch == arch })
	if i < 0 {
		return errorf(http.StatusNotFound, "%s %s has no archive for %s/%s; it has %v", rel.Plugin, rel.Version, goos, arch, platforms(rel))
	}
	art := rel.Artifacts[i]
	d := DownloadJSON{Plugin: rel.Plugin, Version: rel.Version, OS: goos, Arch: arch, Filename: filepath.Base(art.Path), SHA256: art.SHA256, Size: art.Size}
	base := "/v1/artifacts/" + url.PathEscape(rel.Plugin) + "/" + url.PathEscape(rel.Version) + "/"
	query := ""
	if rel.State == store.Withdrawn {
		query = "?allow_withdrawn=true"
	}
	d.URL = base + url.PathEscape(d.Filename) + query
	d.ShasumsURL = base + release.SumsFile + query
	d.ShasumsSignatureURL = base + release.SignatureFile + query
	if rel.Signature != nil {
		d.KeyID = rel.Signature.KeyID
		pub, err := a.signingKey(r, rel.Plugin, rel.Signature.KeyID)
		if err != nil {
			return err
		}
		d.PublicKey = pub.String()
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// signingKey finds the key id among the keys of plugin's owner.
func (a *API) signingKey(r *http.Request, plugin, keyID string) (release.PublicKey, error) {
	p, err := a.plugin(r.Context(), plugin)
	if err != nil {
		return nil, err
	}
	pub, err := a.st.Publisher(r.Context(), p.Owner)
	if err != nil {
		return nil, fmt.Errorf("reading publisher of %s: %w", plugin, err)
	}
	for _, k := range pub.Keys {
		if k.ID == keyID {
			return release.PublicKey(k.PublicKey), nil
		}
	}
	return nil, errorf(http.StatusNotFound, "key %s is not a signing key of publisher %q", keyID, pub.Name)
}

func (a *API) artifact(w http.ResponseWriter, r *http.Request, who store.Credential) error {
	rel, err := a.offered(r, who)
	if err != nil {
		return err
	}
	file := r.PathValue("file")
	known := file == release.SumsFile || file == release.SignatureFile
	for _, art := range rel.Artifacts {
		known = known || filepath.Base(art.Path) == file
	}
	if !known {
		return errorf(http.StatusNotFound, "%s %s has no file %q", rel.Plugin, rel.Version, file)
	}
	f, err := os.Open(filepath.Join(a.artifacts, rel.Plugin, rel.Version, file))
	if err != nil {
		return fmt.Errorf("opening artifact: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("opening artifact: %w", err)
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", fi.ModTime(), f) // sets Content-Length, handles Range
	return nil
}
