package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/vigilmon/vigil/registry/internal/store"
	"github.com/vigilmon/vigil/registry/internal/store/sqlite"
	"github.com/vigilmon/vigil/sdk/release"
)

// fakeQueue records what the API enqueued; tests drive evaluation through
// the store (the real queue is tested in evalqueue).
type fakeQueue struct {
	mu   sync.Mutex
	jobs []string
}

func (q *fakeQueue) Enqueue(plugin, version string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.jobs = append(q.jobs, plugin+" "+version)
}

func (q *fakeQueue) got() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]string(nil), q.jobs...)
}

// fixture is a registry over real HTTP on a real SQLite file, with two
// publishers: acme (owns hello, signs with key) and globex (owns world).
type fixture struct {
	t         *testing.T
	url       string
	st        store.Store
	artifacts string
	queue     *fakeQueue
	key       release.PrivateKey
	keyID     string
	// tokens by who: admin, acme, globex, hello-key, world-key, agent
	tokens map[string]string
}

func newFixture(t *testing.T) *fixture { return newFixtureWith(t, 0) }

func newFixtureWith(t *testing.T, maxUpload int64) *fixture {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return setupFixture(t, st, dir, maxUpload)
}

func setupFixture(t *testing.T, st store.Store, dir string, maxUpload int64) *fixture {
	t.Helper()
	f := &fixture{t: t, st: st, artifacts: filepath.Join(dir, "artifacts"), queue: &fakeQueue{}, tokens: map[string]string{}}
	api := New(Config{Store: st, ArtifactDir: f.artifacts, Queue: f.queue, Logger: hclog.NewNullLogger(), MaxUpload: maxUpload})
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	f.url = srv.URL
	secret, hash := store.NewSecret()
	if _, err := st.CreateCredential(context.Background(), store.Credential{Role: store.RoleAdmin, Hash: hash}); err != nil {
		t.Fatal(err)
	}
	f.tokens["admin"] = secret
	for _, p := range []string{"acme", "globex"} {
		var tok TokenResponse
		f.mustJSON("POST", "/v1/tokens", "admin", TokenRequest{Role: "publisher", Publisher: p}, http.StatusCreated, &tok)
		f.tokens[p] = tok.Secret
	}
	var tok TokenResponse
	f.mustJSON("POST", "/v1/tokens", "admin", TokenRequest{Role: "agent", Node: "web-1"}, http.StatusCreated, &tok)
	f.tokens["agent"] = tok.Secret
	pub, priv, err := release.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	f.key, f.keyID = priv, release.KeyID(pub)
	f.mustJSON("POST", "/v1/publishers/acme/keys", "acme", map[string]string{"public_key": pub.String()}, http.StatusCreated, nil)
	for _, p := range []struct{ name, owner string }{{"hello", "acme"}, {"world", "globex"}} {
		var reg struct {
			PluginKey string `json:"plugin_key"`
		}
		f.mustJSON("POST", "/v1/plugins", p.owner, PluginRequest{Name: p.name, Description: "says " + p.name}, http.StatusCreated, &reg)
		f.tokens[p.name+"-key"] = reg.PluginKey
	}
	return f
}

// do sends a request as who ("" for none, or a literal "secret:...") and
// returns the status and body.
func (f *fixture) do(method, path, who string, body io.Reader, contentType string) (int, []byte) {
	f.t.Helper()
	req, err := http.NewRequest(method, f.url+path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	switch tok, ok := f.tokens[who]; {
	case ok:
		req.Header.Set("Authorization", "Bearer "+tok)
	case who != "":
		req.Header.Set("Authorization", "Bearer "+who)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp.StatusCode, b
}

func (f *fixture) doJSON(method, path, who string, body any) (int, []byte) {
	f.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			f.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	return f.do(method, path, who, r, "application/json")
}

// mustJSON sends body and fails unless the status is want; it decodes the
// answer into out if out is not nil.
func (f *fixture) mustJSON(method, path, who string, body any, want int, out any) {
	f.t.Helper()
	code, b := f.doJSON(method, path, who, body)
	if code != want {
		f.t.Fatalf("%s %s as %s: status %d, want %d: %s", method, path, who, code, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			f.t.Fatalf("%s %s: decoding %s: %v", method, path, b, err)
		}
	}
}

// upload is a release upload, tampered with by tests before it is sent.
type upload struct {
	version, keyID string
	sums, sig      []byte
	archives       map[string][]byte // by file name
	omit           map[string]bool   // form fields left out
}

// binary is the fake plugin binary in every archive.
var binary = []byte("#!/bin/sh\necho not really a plugin\n")

// makeRelease builds a signed release of plugin at version for platforms
// (default linux/amd64) with sdk/release.
func (f *fixture) makeRelease(plugin, version string, platforms ...release.Platform) upload {
	f.t.Helper()
	if len(platforms) == 0 {
		platforms = []release.Platform{{OS: "linux", Arch: "amd64"}}
	}
	bin := filepath.Join(f.t.TempDir(), "bin")
	if err := os.WriteFile(bin, binary, 0o755); err != nil {
		f.t.Fatal(err)
	}
	u := upload{version: version, keyID: f.keyID, archives: map[string][]byte{}}
	var sums release.Sums
	for _, p := range platforms {
		var buf bytes.Buffer
		a := release.Archive{Name: plugin, Version: version, Platform: p, Binary: bin}
		if err := release.WriteArchive(context.Background(), &buf, a); err != nil {
			f.t.Fatal(err)
		}
		u.archives[a.FileName()] = buf.Bytes()
		sums = append(sums, release.Sum{File: a.FileName(), SHA256: sha256hex(buf.Bytes())})
	}
	sort.Slice(sums, func(i, j int) bool { return sums[i].File < sums[j].File })
	raw, err := sums.Marshal()
	if err != nil {
		f.t.Fatal(err)
	}
	u.sums, u.sig = raw, release.Sign(f.key, raw)
	return u
}

// body encodes the upload as multipart/form-data.
func (u upload) body(t *testing.T) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	write := func(field, file string, b []byte) {
		if u.omit[field] {
			return
		}
		var w io.Writer
		var err error
		if file == "" {
			w, err = mw.CreateFormField(field)
		} else {
			w, err = mw.CreateFormFile(field, file)
		}
		if err == nil {
			_, err = w.Write(b)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	write("version", "", []byte(u.version))
	write("key_id", "", []byte(u.keyID))
	write(release.SumsFile, release.SumsFile, u.sums)
	write(release.SignatureFile, release.SignatureFile, u.sig)
	for _, name := range sortedKeys(u.archives) {
		write("archive", name, u.archives[name])
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), buf.Bytes()
}

func (f *fixture) publish(plugin, who string, u upload) (int, []byte) {
	f.t.Helper()
	ct, b := u.body(f.t)
	return f.do("POST", "/v1/plugins/"+plugin+"/releases", who, bytes.NewReader(b), ct)
}

// release publishes plugin at version and moves it to state through the
// store as the evaluator and the admin would.
func (f *fixture) release(plugin, version string, state store.State) upload {
	f.t.Helper()
	u := f.makeRelease(plugin, version)
	if code, b := f.publish(plugin, plugin+"-key", u); code != http.StatusAccepted {
		f.t.Fatalf("publishing %s %s: %d %s", plugin, version, code, b)
	}
	path := map[store.State][]store.State{
		store.Pending:    nil,
		store.Evaluating: {store.Evaluating},
		store.Passed:     {store.Evaluating, store.Passed},
		store.Failed:     {store.Evaluating, store.Failed},
		store.Approved:   {store.Evaluating, store.Passed, store.Approved},
		store.Rejected:   {store.Evaluating, store.Passed, store.Rejected},
		store.Withdrawn:  {store.Evaluating, store.Passed, store.Approved, store.Withdrawn},
		store.Abandoned:  {store.Abandoned},
	}[state]
	for _, s := range path {
		if s == store.Passed || s == store.Failed {
			rep := []byte(`{"passed":` + map[bool]string{true: "true", false: "false"}[s == store.Passed] + `,"checks":[],"protocol_version":1}`)
			if err := f.st.AddEvaluation(context.Background(), plugin, version, store.Evaluation{Report: rep}); err != nil {
				f.t.Fatal(err)
			}
		}
		if _, err := f.st.TransitionRelease(context.Background(), plugin, version, s, "test", "because"); err != nil {
			f.t.Fatalf("moving %s %s to %s: %v", plugin, version, s, err)
		}
	}
	return u
}

// errorMessage decodes a JSON error body.
func errorMessage(t *testing.T, b []byte) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(b, &e); err != nil || e.Error == "" {
		t.Fatalf("not a JSON error: %s", b)
	}
	return e.Error
}
