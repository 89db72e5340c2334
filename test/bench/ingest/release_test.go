package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPluginVersion(t *testing.T) {
	for _, tc := range []struct {
		name    string
		files   map[string]string
		want    string
		wantErr string // a part of the error; "" for none
	}{
		{
			name: "a const of its own",
			files: map[string]string{
				"main.go":     "package main\n\nfunc main() {}\n",
				"manifest.go": "package main\n\nconst pluginVersion = \"1.2.3\"\n",
			},
			want: "1.2.3",
		},
		{
			name:  "in a const group",
			files: map[string]string{"manifest.go": "package main\n\nconst (\n\tpluginName = \"x\"\n\tpluginVersion = `0.4.0-rc.1`\n)\n"},
			want:  "0.4.0-rc.1",
		},
		{
			name:    "only in a test file",
			files:   map[string]string{"main.go": "package main\n", "main_test.go": "package main\n\nconst pluginVersion = \"9.9.9\"\n"},
			wantErr: "no constant pluginVersion",
		},
		{
			name:    "a variable is not the constant",
			files:   map[string]string{"main.go": "package main\n\nvar pluginVersion = \"1.0.0\"\n"},
			wantErr: "no constant pluginVersion",
		},
		{
			name:    "not a string literal",
			files:   map[string]string{"main.go": "package main\n\nconst base = \"1\"\nconst pluginVersion = base + \".0.0\"\n"},
			wantErr: "pluginVersion is not a string literal",
		},
		{
			name:    "a syntax error",
			files:   map[string]string{"main.go": "package main\n\nconst pluginVersion = \n"},
			wantErr: "reading the plugin version",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, text := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got, err := pluginVersion(dir)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("pluginVersion = %q, %v; want an error with %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("pluginVersion = %q, want %q", got, tc.want)
			}
		})
	}
}

// The real plugin's version is found, and is what scripts/run.sh's sed
// finds too.
func TestPluginVersionOfSystem(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "plugins", "system")
	got, err := pluginVersion(dir)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	re := regexp.MustCompile(`pluginVersion *= *"([^"]*)"`)
	var want string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if m := re.FindSubmatch(b); m != nil {
			want = string(m[1])
			break
		}
	}
	if want == "" || got != want {
		t.Errorf("pluginVersion(plugins/system) = %q, want %q", got, want)
	}
}

func TestInventoryBody(t *testing.T) {
	got := string(inventoryBody("system", "0.1.0"))
	want := `{"agent_version":"bench-ingest","tags":{},"plugins":[{"name":"system","version":"0.1.0","state":"running"}]}`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("inventory (-want +got):\n%s", diff)
	}
}

func TestReportInventories(t *testing.T) {
	type put struct{ path, auth, ctype, body string }
	var (
		mu        sync.Mutex
		got       []put
		now, most atomic.Int64
		release   = make(chan struct{})
		once      sync.Once
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := now.Add(1)
		defer now.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		if n == inventoryConns {
			once.Do(func() { close(release) }) // every slot taken at once: let them all go
		}
		select {
		case <-release:
		case <-time.After(10 * time.Second): // fewer at once than allowed: most says so
		}
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, put{r.Method + " " + r.URL.EscapedPath(), r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(b)})
		mu.Unlock()
		if strings.Contains(r.URL.Path, "bad") {
			http.Error(w, `{"error": "invalid inventory"}`, http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	var nodes, tokens []string
	var want []put
	for i := range 3 * inventoryConns {
		node := "node-" + string(rune('a'+i))
		if i == 5 {
			node = "bad node"
		}
		nodes = append(nodes, node)
		tokens = append(tokens, "tok-"+node)
		want = append(want, put{"PUT /v1/nodes/" + strings.ReplaceAll(node, " ", "%20") + "/inventory", "Bearer tok-" + node, "application/json", `{"x":1}`})
	}
	err := reportInventories(context.Background(), srv.Client(), srv.URL, nodes, tokens, []byte(`{"x":1}`))
	if err == nil || !strings.Contains(err.Error(), "reporting the inventory of bad node: 400 Bad Request") {
		t.Errorf("error = %v, want the bad node's 400", err)
	}
	cmpPut := func(a, b put) int { return strings.Compare(a.path, b.path) }
	slices.SortFunc(got, cmpPut)
	slices.SortFunc(want, cmpPut)
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(put{})); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if m := most.Load(); m != inventoryConns {
		t.Errorf("%d requests at once at most, want %d", m, inventoryConns)
	}
}

func TestJudgeProbe(t *testing.T) {
	for _, tc := range []struct {
		name       string
		body       string
		wantStored bool
		wantErr    string
	}{
		{name: "not stored yet", body: `{"series": []}`},
		{name: "stored unflagged", body: `{"series": [{"measurement": "bench_probe", "field": "ok", "tags": {"node": "n1", "plugin": "system"}, "points": [[1, 1]]}]}`, wantStored: true},
		{name: "stored flagged", body: `{"series": [{"tags": {"node": "n1", "plugin": "system", "unapproved": "true"}}]}`, wantStored: true,
			wantErr: "the probe is stored with unapproved=true: ingest does not count plugin system as an approved release"},
		{name: "not JSON", body: `<html>`, wantErr: "decoding the query API's answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stored, err := judgeProbe([]byte(tc.body))
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if stored != tc.wantStored || !strings.Contains(gotErr, tc.wantErr) || (tc.wantErr == "") != (err == nil) {
				t.Errorf("judgeProbe = %v, %q; want %v and an error with %q", stored, gotErr, tc.wantStored, tc.wantErr)
			}
		})
	}
}

func TestCheckProbe(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answers []string // in turn, the last one from then on
		wantErr string
	}{
		{name: "stored after a few polls", answers: []string{`{"series":[]}`, `{"series":[]}`, `{"series":[{"tags":{"plugin":"system"}}]}`}},
		{name: "flagged", answers: []string{`{"series":[{"tags":{"plugin":"system","unapproved":"true"}}]}`}, wantErr: "stored with unapproved=true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int64
			var query string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "Bearer admin" || r.URL.Path != "/v1/query/series" {
					http.Error(w, "bad request", http.StatusBadRequest)
					return
				}
				query = r.URL.RawQuery
				i := min(int(calls.Add(1)-1), len(tc.answers)-1)
				io.WriteString(w, tc.answers[i])
			}))
			defer srv.Close()
			reg := &registry{url: srv.URL, admin: "admin"}
			err := reg.checkProbe(context.Background(), srv.Client(), "n1")
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("checkProbe: %v; want an error with %q", err, tc.wantErr)
			}
			if got := calls.Load(); got != int64(len(tc.answers)) {
				t.Errorf("%d queries, want %d", got, len(tc.answers))
			}
			if want := "field=ok&from=-1h&measurement=bench_probe&node=n1"; query != want {
				t.Errorf("query %q, want %q", query, want)
			}
		})
	}
}

func TestRunStep(t *testing.T) {
	var log strings.Builder
	out, err := runStep(context.Background(), &log, "telling a secret", []string{"BENCH_SECRET=s3cret"}, true,
		"sh", "-c", `echo "$BENCH_SECRET"; echo "note on stderr" >&2`)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "s3cret\n" || log.String() != "note on stderr\n" {
		t.Errorf("secret step: stdout %q, log %q; want the secret only in stdout", out, log.String())
	}

	log.Reset()
	_, err = runStep(context.Background(), &log, "failing", nil, false, "sh", "-c", `echo "some output"; echo "why it failed" >&2; exit 3`)
	if err == nil {
		t.Fatal("no error from a command that exits 3")
	}
	if want := "failing: exit status 3; its output:\nsome output\nwhy it failed\n"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if want := "some output\nwhy it failed\n"; log.String() != want {
		t.Errorf("log %q, want %q", log.String(), want)
	}
}
