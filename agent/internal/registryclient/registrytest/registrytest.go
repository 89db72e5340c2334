// Package registrytest is a fake registry for tests of the registry's
// clients: an httptest server on 127.0.0.1 that implements the parts of
// docs/api.md the agent calls (search, versions, download descriptors,
// artifacts) and a minimal register/publish/status, over releases held in
// memory and built with sdk/release from a real plugin binary. It checks
// no roles: any request must carry the token when one is set.
package registrytest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/vigilmon/vigil/sdk/release"
)

// Release is one release the fake serves.
type Release struct {
	Plugin, Version string
	Withdrawn       bool
	PublicKey       release.PublicKey
	Sums, Signature []byte
	// Archives maps a file name to its bytes; Platforms follow from the
	// names.
	Archives map[string][]byte
}

// Build packages binary (a plugin executable) as plugin name at version for
// platform, signed with priv. With a nil priv a new key is generated.
func Build(t testing.TB, binary, name, version string, p release.Platform, priv release.PrivateKey) Release {
	t.Helper()
	if priv == nil {
		var err error
		if _, priv, err = release.GenerateKey(); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	a := release.Archive{Name: name, Version: version, Platform: p, Binary: binary}
	if err := release.WriteArchive(context.Background(), &buf, a); err != nil {
		t.Fatal(err)
	}
	r := Release{Plugin: name, Version: version, PublicKey: priv.Public(), Archives: map[string][]byte{a.FileName(): buf.Bytes()}}
	r.Resign(t, priv)
	return r
}

// Resign recomputes SHA256SUMS over the archives and signs it with priv.
func (r *Release) Resign(t testing.TB, priv release.PrivateKey) {
	t.Helper()
	var sums release.Sums
	for name, b := range r.Archives {
		sums = append(sums, release.Sum{File: name, SHA256: sha(b)})
	}
	sort.Slice(sums, func(i, j int) bool { return sums[i].File < sums[j].File })
	raw, err := sums.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	r.Sums, r.Signature, r.PublicKey = raw, release.Sign(priv, raw), priv.Public()
}

// Server is the fake registry.
type Server struct {
	*httptest.Server
	Token string // required as a bearer token when not empty

	mu       sync.Mutex
	releases map[string][]Release // plugin → releases
	// stall, when set, is the file name of an artifact whose body stops
	// halfway until the request is cancelled.
	stall   string
	stalled chan struct{}
	// Published records what Publish received: plugin/version → part
	// field → file names (or the text of text fields).
	published map[string]map[string][]string
}

// New starts a fake registry on 127.0.0.1, closed when t ends.
func New(t testing.TB) *Server {
	s := &Server{releases: map[string][]Release{}, published: map[string]map[string][]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/plugins", s.search)
	mux.HandleFunc("POST /v1/plugins", s.register)
	mux.HandleFunc("GET /v1/plugins/{name}/versions", s.versions)
	mux.HandleFunc("GET /v1/plugins/{name}/versions/{version}/download/{os}/{arch}", s.download)
	mux.HandleFunc("GET /v1/artifacts/{name}/{version}/{file}", s.artifact)
	mux.HandleFunc("POST /v1/plugins/{name}/releases", s.publish)
	mux.HandleFunc("GET /v1/plugins/{name}/releases/{version}", s.release)
	mux.HandleFunc("GET /v1/plugins/{name}/releases/{version}/evaluation", s.evaluation)
	s.Server = httptest.NewServer(s.auth(mux))
	t.Cleanup(s.Close)
	return s
}

// Add serves r (newest first is the server's business).
func (s *Server) Add(rs ...Release) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range rs {
		s.releases[r.Plugin] = append(s.releases[r.Plugin], r)
	}
}

// Stall makes the artifact called file stop halfway through its body until
// the client gives up; the returned channel is closed when it stalls.
func (s *Server) Stall(file string) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stall, s.stalled = file, make(chan struct{})
	return s.stalled
}

// Published returns the fields and file names a publish of plugin version
// sent, nil if none.
func (s *Server) Published(plugin, version string) map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.published[plugin+"/"+version]
}

func (s *Server) auth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Token != "" && r.Header.Get("Authorization") != "Bearer "+s.Token {
			writeError(w, http.StatusUnauthorized, "missing or unknown token")
			return
		}
		h.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// sorted returns a plugin's releases newest first.
func (s *Server) sorted(name string) []Release {
	rs := append([]Release(nil), s.releases[name]...)
	sort.Slice(rs, func(i, j int) bool { return semverLess(rs[j].Version, rs[i].Version) })
	return rs
}

func (s *Server) find(name, version string) (Release, bool) {
	for _, r := range s.releases[name] {
		if r.Version == version {
			return r, true
		}
	}
	return Release{}, false
}

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := r.URL.Query().Get("q")
	type summary struct {
		Name        string `json:"name"`
		Owner       string `json:"owner"`
		Description string `json:"description"`
		SourceURL   string `json:"source_url"`
		Latest      string `json:"latest"`
	}
	out := []summary{}
	names := make([]string, 0, len(s.releases))
	for n := range s.releases {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !strings.Contains(n, q) {
			continue
		}
		sm := summary{Name: n, Owner: "acme", Description: "the " + n + " plugin"}
		for _, rel := range s.sorted(n) {
			if !rel.Withdrawn {
				sm.Latest = rel.Version
				break
			}
		}
		out = append(out, sm)
	}
	writeJSON(w, http.StatusOK, map[string]any{"plugins": out})
}

func platforms(rel Release) []string {
	var out []string
	for f := range rel.Archives {
		if _, _, p, err := release.ParseArchiveName(f); err == nil {
			out = append(out, p.String())
		}
	}
	sort.Strings(out)
	return out
}

func (s *Server) versions(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := r.PathValue("name")
	if _, ok := s.releases[name]; !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no plugin %q", name))
		return
	}
	withdrawn := r.URL.Query().Get("include") == "withdrawn"
	out := []map[string]any{}
	for _, rel := range s.sorted(name) {
		if rel.Withdrawn && !withdrawn {
			continue
		}
		v := map[string]any{"version": rel.Version, "platforms": platforms(rel), "protocol_versions": []int{1}}
		if rel.Withdrawn {
			v["withdrawn"] = true
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"plugin": name, "versions": out})
}

func (s *Server) download(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name, version := r.PathValue("name"), r.PathValue("version")
	rel, ok := s.find(name, version)
	if !ok || (rel.Withdrawn && r.URL.Query().Get("allow_withdrawn") != "true") {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no installable release %s %s", name, version))
		return
	}
	p := release.Platform{OS: r.PathValue("os"), Arch: r.PathValue("arch")}
	file := release.ArchiveName(name, version, p)
	b, ok := rel.Archives[file]
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("%s %s has no archive for %s", name, version, p))
		return
	}
	base := "/v1/artifacts/" + name + "/" + version + "/"
	writeJSON(w, http.StatusOK, map[string]any{
		"plugin": name, "version": version, "os": p.OS, "arch": p.Arch, "filename": file,
		"url": base + file, "sha256": sha(b), "size": len(b),
		"shasums_url": base + release.SumsFile, "shasums_signature_url": base + release.SignatureFile,
		"key_id": release.KeyID(rel.PublicKey), "public_key": rel.PublicKey.String(),
	})
}

func (s *Server) artifact(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	name, version, file := r.PathValue("name"), r.PathValue("version"), r.PathValue("file")
	rel, ok := s.find(name, version)
	var body []byte
	switch {
	case !ok:
	case file == release.SumsFile:
		body = rel.Sums
	case file == release.SignatureFile:
		body = rel.Signature
	default:
		body = rel.Archives[file]
	}
	stall := s.stall == file && file != ""
	stalled := s.stalled
	s.mu.Unlock()
	if body == nil {
		writeError(w, http.StatusNotFound, "no such artifact "+path.Join(name, version, file))
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	if !stall {
		_, _ = w.Write(body)
		return
	}
	_, _ = w.Write(body[:len(body)/2])
	w.(http.Flusher).Flush()
	close(stalled)
	<-r.Context().Done()
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		SourceURL   string `json:"source_url"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil || release.ValidName(in.Name) != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid plugin", "details": []string{"name: must be a valid plugin name"}})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.releases[in.Name]; ok {
		writeError(w, http.StatusConflict, fmt.Sprintf("plugin %q already exists", in.Name))
		return
	}
	s.releases[in.Name] = nil
	writeJSON(w, http.StatusCreated, map[string]any{
		"plugin":     map[string]any{"name": in.Name, "owner": "acme", "description": in.Description, "source_url": in.SourceURL, "created": "2026-01-02T03:04:05Z"},
		"plugin_key": "vgr_plugin_" + in.Name,
	})
}

func (s *Server) publish(w http.ResponseWriter, r *http.Request) {
	mr, err := r.MultipartReader()
	if err != nil {
		writeError(w, http.StatusBadRequest, "want multipart/form-data")
		return
	}
	got := map[string][]string{}
	var version string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, "reading the upload: "+err.Error())
			return
		}
		b, _ := io.ReadAll(p)
		if p.FileName() != "" {
			got[p.FormName()] = append(got[p.FormName()], fmt.Sprintf("%s (%d bytes)", p.FileName(), len(b)))
		} else {
			got[p.FormName()] = append(got[p.FormName()], string(b))
			if p.FormName() == "version" {
				version = string(b)
			}
		}
	}
	name := r.PathValue("name")
	s.mu.Lock()
	s.published[name+"/"+version] = got
	s.mu.Unlock()
	writeJSON(w, http.StatusAccepted, map[string]any{
		"plugin": name, "version": version, "state": "pending", "status_url": "/v1/plugins/" + name + "/releases/" + version,
	})
}

var report = map[string]any{
	"passed": true, "started": "2026-01-02T03:04:05Z", "finished": "2026-01-02T03:04:06Z",
	"checks": []map[string]any{{"name": "unpack linux/amd64", "passed": true, "detail": "3 files", "duration_ms": 12.5}},
}

func (s *Server) release(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name, version := r.PathValue("name"), r.PathValue("version")
	rel, ok := s.find(name, version)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no release %s %s", name, version))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"plugin": name, "version": version, "state": "approved", "platforms": platforms(rel), "protocol_version": 1,
		"manifest":   map[string]any{"name": name, "version": version},
		"history":    []map[string]any{{"from": "passed", "to": "approved", "actor": "admin", "reason": "", "at": "2026-01-02T03:05:00Z"}},
		"evaluation": report,
	})
}

func (s *Server) evaluation(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.find(r.PathValue("name"), r.PathValue("version")); !ok {
		writeError(w, http.StatusNotFound, "no such release")
		return
	}
	writeJSON(w, http.StatusOK, report)
}
