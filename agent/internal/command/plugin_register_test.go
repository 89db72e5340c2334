package command

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/agent/internal/registryclient"
)

// Secrets of the fake registry.
const (
	testPublisherToken = "vgr_publisher"
	testPluginKey      = "vgr_pluginkey"
)

// upload is what the fake registry received as a release.
type upload struct {
	Plugin, Version, KeyID string
	Files                  map[string]string // "field file name" → contents
}

// fakeRegistry serves the endpoints plugin register and plugin publish
// use (docs/api.md), checking the bearer secret of each.
type fakeRegistry struct {
	*httptest.Server
	// states are what successive release status reads return; the last
	// repeats.
	states []string
	// report is the evaluation report; inline puts it in the release
	// status, otherwise only the evaluation endpoint serves it.
	report *registryclient.Report
	inline bool

	mu         sync.Mutex
	registered []registryclient.NewPlugin
	uploads    []upload
	reads      int
}

func newFakeRegistry(t *testing.T) *fakeRegistry {
	f := &fakeRegistry{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/plugins", f.auth(testPublisherToken, f.register))
	mux.HandleFunc("POST /v1/plugins/{name}/releases", f.auth(testPluginKey, f.publish))
	mux.HandleFunc("GET /v1/plugins/{name}/releases/{version}", f.auth(testPluginKey, f.release))
	mux.HandleFunc("GET /v1/plugins/{name}/releases/{version}/evaluation", f.auth(testPluginKey, f.evaluation))
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

func (f *fakeRegistry) auth(secret string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("Authorization") {
		case "Bearer " + secret:
			h(w, r)
		case "Bearer " + testPublisherToken, "Bearer " + testPluginKey:
			writeJSONTest(w, http.StatusForbidden, map[string]string{"error": "this credential may not do that"})
		default:
			writeJSONTest(w, http.StatusUnauthorized, map[string]string{"error": "unknown token"})
		}
	}
}

func (f *fakeRegistry) register(w http.ResponseWriter, r *http.Request) {
	var p registryclient.NewPlugin
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
		writeJSONTest(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	f.mu.Lock()
	f.registered = append(f.registered, p)
	f.mu.Unlock()
	if p.Name == "taken" {
		writeJSONTest(w, http.StatusConflict, map[string]string{"error": "plugin taken is already registered"})
		return
	}
	writeJSONTest(w, http.StatusCreated, map[string]any{
		"plugin": map[string]any{"name": p.Name, "owner": "acme", "description": p.Description,
			"source_url": p.SourceURL, "created": "2026-05-04T12:00:00Z"},
		"plugin_key": testPluginKey,
	})
}

func (f *fakeRegistry) publish(w http.ResponseWriter, r *http.Request) {
	mr, err := r.MultipartReader()
	if err != nil {
		writeJSONTest(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	u := upload{Plugin: r.PathValue("name"), Files: map[string]string{}}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			writeJSONTest(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		b, _ := io.ReadAll(p)
		switch p.FormName() {
		case "version":
			u.Version = string(b)
		case "key_id":
			u.KeyID = string(b)
		default:
			u.Files[p.FormName()+" "+p.FileName()] = string(b)
		}
	}
	f.mu.Lock()
	f.uploads = append(f.uploads, u)
	f.mu.Unlock()
	writeJSONTest(w, http.StatusAccepted, map[string]string{"plugin": u.Plugin, "version": u.Version, "state": "pending",
		"status_url": "/v1/plugins/" + u.Plugin + "/releases/" + u.Version})
}

func (f *fakeRegistry) release(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	state := f.states[min(f.reads, len(f.states)-1)]
	f.reads++
	f.mu.Unlock()
	rel := registryclient.Release{Plugin: r.PathValue("name"), Version: r.PathValue("version"), State: state}
	if f.inline && state != "pending" && state != "evaluating" {
		rel.Evaluation = f.report
	}
	writeJSONTest(w, http.StatusOK, rel)
}

func (f *fakeRegistry) evaluation(w http.ResponseWriter, r *http.Request) {
	if f.report == nil {
		writeJSONTest(w, http.StatusNotFound, map[string]string{"error": "not evaluated yet"})
		return
	}
	writeJSONTest(w, http.StatusOK, f.report)
}

func writeJSONTest(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func TestPluginRegister(t *testing.T) {
	reg := newFakeRegistry(t)
	r := vigil("plugin", "register", "hello", "--registry", reg.URL, "--token", testPublisherToken,
		"--description", "Files", "--source-url", "https://example.com/hello")
	want := result{code: ExitOK, stdout: "Registered plugin hello (owner acme).\n" +
		"Plugin key: " + testPluginKey + "\n" +
		"It is shown once: store it as a secret. It publishes releases of hello only:\n" +
		"  vigil plugin publish <dist> --registry " + reg.URL + " --plugin-key <key> --key <signing key> --wait\n"}
	if d := cmp.Diff(want, r, cmp.AllowUnexported(result{})); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if d := cmp.Diff([]registryclient.NewPlugin{{Name: "hello", Description: "Files", SourceURL: "https://example.com/hello"}},
		reg.registered); d != "" {
		t.Errorf("request (-want +got):\n%s", d)
	}

	r = vigil("plugin", "register", "hello", "--registry", reg.URL, "--token", testPublisherToken, "--format", "json")
	var got registryclient.Registration
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != ExitOK {
		t.Fatalf("exit %d, %v:\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if d := cmp.Diff([]string{"hello", "acme", testPluginKey}, []string{got.Plugin.Name, got.Plugin.Owner, got.PluginKey}); d != "" {
		t.Errorf("json (-want +got):\n%s", d)
	}
}

func TestPluginRegisterRefused(t *testing.T) {
	reg := newFakeRegistry(t)
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no name", []string{"--registry", reg.URL, "--token", "x"}, ExitUsage,
			"give exactly one plugin name"},
		{"bad name", []string{"Hello", "--registry", reg.URL, "--token", "x"}, ExitUsage,
			`invalid plugin name "Hello"`},
		{"no registry", []string{"hello", "--token", "x"}, ExitUsage, "--registry is required"},
		{"no token", []string{"hello", "--registry", reg.URL}, ExitUsage, "--token is required"},
		{"bad url", []string{"hello", "--registry", "ftp://x", "--token", "x"}, ExitUsage,
			`registry URL "ftp://x" is not an http or https URL`},
		{"unknown token", []string{"hello", "--registry", reg.URL, "--token", "vgr_nope"}, ExitFailure,
			"registering plugin hello: POST /v1/plugins: 401: unknown token"},
		{"plugin key", []string{"hello", "--registry", reg.URL, "--token", testPluginKey}, ExitFailure,
			"registering plugin hello: POST /v1/plugins: 403: this credential may not do that"},
		{"taken", []string{"taken", "--registry", reg.URL, "--token", testPublisherToken}, ExitFailure,
			"registering plugin taken: POST /v1/plugins: 409: plugin taken is already registered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := vigil(append([]string{"plugin", "register"}, tc.args...)...)
			want := result{code: tc.code, stderr: "vigil plugin register: " + tc.stderr}
			got := r
			got.stderr = strings.TrimSuffix(r.stderr, "\n")
			if !strings.HasPrefix(got.stderr, want.stderr) {
				t.Errorf("stderr %q, want it to start with %q", r.stderr, want.stderr)
			}
			got.stderr = want.stderr
			if d := cmp.Diff(want, got, cmp.AllowUnexported(result{})); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}
