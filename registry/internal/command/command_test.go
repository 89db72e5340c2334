package command

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/registry/internal/httpapi"
	"github.com/vigilmon/vigil/test/syncbuf"
)

// running is a registry started by the serve command in this process.
type running struct {
	url, admin string
	stdout     *syncbuf.Buffer
	stop       func() int
}

func startServe(t *testing.T, data string, env map[string]string) *running {
	t.Helper()
	sigs := make(chan os.Signal, 1)
	out, errs := &syncbuf.Buffer{}, &syncbuf.Buffer{}
	addr := make(chan string, 1)
	getenv := func(k string) string { return env[k] }
	c := &ServeCommand{Meta: Meta{Stdout: out, Stderr: errs, Signals: sigs, Getenv: getenv}, ready: func(a string) { addr <- a }}
	done := make(chan int, 1)
	go func() { done <- c.Run(context.Background(), []string{"--listen", "127.0.0.1:0", "--data", data}) }()
	r := &running{stdout: out}
	select {
	case a := <-addr:
		r.url = "http://" + a
	case code := <-done:
		t.Fatalf("serve exited %d: %s", code, errs.String())
	}
	r.stop = func() int {
		sigs <- os.Interrupt
		return <-done
	}
	if m := regexp.MustCompile(`vgr_[A-Za-z0-9_-]+`).FindString(out.String()); m != "" {
		r.admin = m
	}
	return r
}

// run runs a command through Main and returns its exit code and output.
func run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errs bytes.Buffer
	code := Main(context.Background(), Meta{Stdout: &out, Stderr: &errs, Getenv: func(k string) string { return env[k] }}, args)
	return code, out.String(), errs.String()
}

func TestServeAndAdminCommands(t *testing.T) {
	data := t.TempDir()
	reg := startServe(t, data, nil)
	if reg.admin == "" {
		t.Fatalf("no admin token printed: %q", reg.stdout.String())
	}
	for _, p := range []string{"registry.db", "artifacts"} {
		if _, err := os.Stat(filepath.Join(data, p)); err != nil {
			t.Errorf("data dir: %v", err)
		}
	}
	env := map[string]string{"VIGIL_REGISTRY_URL": reg.url, "VIGIL_REGISTRY_TOKEN": reg.admin}

	code, out, errs := run(t, env, "token", "create", "--role", "publisher", "--publisher", "acme", "--format", "json")
	var tok httpapi.TokenResponse
	if code != ExitOK || json.Unmarshal([]byte(out), &tok) != nil || tok.Role != "publisher" || tok.Publisher != "acme" || !strings.HasPrefix(tok.Secret, "vgr_") {
		t.Fatalf("token create: %d %q %q", code, out, errs)
	}
	code, out, _ = run(t, env, "token", "create", "--role", "agent", "--node", "web-1")
	if code != ExitOK || !strings.Contains(out, "Created agent for node web-1 token") {
		t.Errorf("token create human: %d %q", code, out)
	}

	code, out, errs = run(t, env, "releases", "--state", "passed", "--format", "json")
	if code != ExitOK || strings.TrimSpace(out) != "{\n  \"releases\": []\n}" {
		t.Errorf("releases: %d %q %q", code, out, errs)
	}
	code, out, _ = run(t, env, "releases")
	if code != ExitOK || out != "No releases match.\n" {
		t.Errorf("releases human: %d %q", code, out)
	}

	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stderr string
	}{
		{"approve missing release", env, []string{"approve", "hello", "1.0.0"}, ExitFailure, "approve hello 1.0.0: registry: plugin \"hello\" has no release 1.0.0 (HTTP 404)\n"},
		{"delete missing release", env, []string{"delete", "hello", "1.0.0"}, ExitFailure, "delete hello 1.0.0: registry: plugin \"hello\" has no release 1.0.0 (HTTP 404)\n"},
		{"delete needs a version", env, []string{"delete", "hello"}, ExitUsage, "want <plugin> <version>, got 1 arguments\n"},
		{"reject needs a reason", env, []string{"reject", "hello", "1.0.0"}, ExitUsage, "--reason is required: it is recorded in the release's history and shown to the publisher\n"},
		{"publisher token cannot list", map[string]string{"VIGIL_REGISTRY_URL": reg.url, "VIGIL_REGISTRY_TOKEN": tok.Secret}, []string{"releases"}, ExitFailure,
			"listing releases: registry: forbidden for this publisher token: only the registry admin may do this (HTTP 403)\n"},
		{"unknown token", map[string]string{"VIGIL_REGISTRY_URL": reg.url, "VIGIL_REGISTRY_TOKEN": "vgr_nope"}, []string{"releases"}, ExitFailure,
			"listing releases: registry: unknown or revoked token: ask the registry admin for a new one (HTTP 401)\n"},
		{"no registry", nil, []string{"releases", "--token", "x"}, ExitUsage, "no registry: pass --registry URL or set VIGIL_REGISTRY_URL\n"},
		{"bad role", env, []string{"token", "create", "--role", "plugin"}, ExitUsage, "role \"plugin\" is not one of admin, publisher, agent (plugin keys come from registering a plugin)\n"},
		{"bad format", env, []string{"releases", "--format", "xml"}, ExitUsage, "--format must be human or json, not \"xml\"\n"},
		{"flags beat env", env, []string{"releases", "--registry", "ftp://x"}, ExitUsage, "--registry \"ftp://x\" is not an http(s) URL\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := run(t, tt.env, tt.args...)
			if code != tt.code || errs != tt.stderr {
				t.Errorf("got %d %q, want %d %q", code, errs, tt.code, tt.stderr)
			}
		})
	}

	if code := reg.stop(); code != ExitOK {
		t.Errorf("serve exit code %d", code)
	}

	// A restart keeps the admin token and prints no new one.
	again := startServe(t, data, nil)
	if again.admin != "" {
		t.Errorf("second start printed a token: %q", again.stdout.String())
	}
	code, _, errs = run(t, map[string]string{"VIGIL_REGISTRY_URL": again.url, "VIGIL_REGISTRY_TOKEN": reg.admin}, "releases")
	if code != ExitOK {
		t.Errorf("admin token after restart: %d %s", code, errs)
	}
	again.stop()
}

func TestServeTakesTheAdminTokenFromTheEnvironment(t *testing.T) {
	secret := "vgr_chosen-by-the-operator-0123456789"
	reg := startServe(t, t.TempDir(), map[string]string{"VIGIL_REGISTRY_ADMIN_TOKEN": secret})
	defer reg.stop()
	if reg.admin != "" {
		t.Errorf("printed a token although one was given: %q", reg.stdout.String())
	}
	code, _, errs := run(t, map[string]string{"VIGIL_REGISTRY_URL": reg.url, "VIGIL_REGISTRY_TOKEN": secret}, "releases")
	if code != ExitOK {
		t.Errorf("env admin token refused: %d %s", code, errs)
	}
}

func TestParseServeArgsAndConfig(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "registry.hcl")
	if err := os.WriteFile(cfgFile, []byte("listen = \"0.0.0.0:9000\"\nstorage \"sqlite\" {\n  path = \"/db/x.db\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := parseServeArgs([]string{"--config", cfgFile, "--data", "/srv/reg"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, diags := a.config()
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	got := []string{cfg.Listen, cfg.DataDir, cfg.ArtifactDir, cfg.Storage.Path}
	if diff := cmp.Diff([]string{"0.0.0.0:9000", "/srv/reg", "/srv/reg/artifacts", "/db/x.db"}, got); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	var errs bytes.Buffer
	code := (&ServeCommand{Meta: Meta{Stdout: &bytes.Buffer{}, Stderr: &errs, Getenv: func(string) string { return "" }}}).Run(context.Background(), []string{"--config", filepath.Join(dir, "missing.hcl")})
	if code != ExitUsage || !strings.Contains(errs.String(), "Cannot read configuration file") {
		t.Errorf("missing config: %d %q", code, errs.String())
	}
}

func TestUsage(t *testing.T) {
	code, out, _ := run(t, nil)
	for _, c := range []string{"serve", "token create", "releases", "approve", "reject", "withdraw", "abandon", "delete"} {
		if !strings.Contains(out, "  "+c+" ") {
			t.Errorf("usage lacks %q:\n%s", c, out)
		}
	}
	if code != ExitOK {
		t.Errorf("code %d", code)
	}
	for name, c := range Commands(Meta{}) {
		if !strings.HasPrefix(c.Help(), "Usage: vigil-registry "+name) {
			t.Errorf("%s help: %q", name, c.Help())
		}
	}
}

func TestDeleteCommand(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, r.Method+" "+r.URL.EscapedPath()+" "+r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	env := map[string]string{"VIGIL_REGISTRY_TOKEN": "vgr_env"}
	tests := []struct {
		name string
		args []string
		out  string
	}{
		{"human", []string{"delete", "hello", "1.0.0", "--registry", srv.URL}, "Deleted hello 1.0.0.\n"},
		{"json", []string{"delete", "--registry", srv.URL + "/", "--token", "vgr_flag", "hello", "1.2.0-rc.1", "--format", "json"},
			"{\n  \"plugin\": \"hello\",\n  \"version\": \"1.2.0-rc.1\",\n  \"deleted\": true\n}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := run(t, env, tt.args...)
			if code != ExitOK || out != tt.out {
				t.Errorf("got %d %q (stderr %q), want %q", code, out, errs, tt.out)
			}
		})
	}
	want := []string{
		"DELETE /v1/plugins/hello/releases/1.0.0 Bearer vgr_env",
		"DELETE /v1/plugins/hello/releases/1.2.0-rc.1 Bearer vgr_flag",
	}
	mu.Lock()
	defer mu.Unlock()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("requests (-want +got):\n%s", d)
	}
}
