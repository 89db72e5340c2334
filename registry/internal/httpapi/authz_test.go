package httpapi

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/registry/internal/store"
	"github.com/vigilmon/vigil/sdk/release"
)

// callers, in the order each endpoint is tried: the admin last, so what it
// is allowed to change does not change what the others see.
var callers = []string{"none", "unknown", "acme", "globex", "hello-key", "world-key", "agent", "admin"}

// TestAuthorizationMatrix calls every endpoint as every kind of caller
// and compares the statuses with who may and who may not.
func TestAuthorizationMatrix(t *testing.T) {
	f := newFixture(t)
	authorizationMatrix(t, f)
}

func authorizationMatrix(t *testing.T, f *fixture) {
	f.release("hello", "1.0.0", store.Approved)
	f.release("hello", "1.1.0", store.Passed)
	f.release("hello", "1.2.0", store.Approved)
	var spare TokenResponse
	f.mustJSON("POST", "/v1/tokens", "admin", TokenRequest{Role: "agent"}, http.StatusCreated, &spare)
	seq := 0
	next := func() int { seq++; return seq }

	// all expects the same status for every authenticated caller.
	all := func(code int) map[string]int {
		m := map[string]int{}
		for _, c := range callers[2:] {
			m[c] = code
		}
		return m
	}
	only := func(code int, who ...string) map[string]int {
		m := all(http.StatusForbidden)
		for _, w := range who {
			m[w] = code
		}
		return m
	}
	type request struct {
		body        []byte
		contentType string
	}
	jsonBody := func(s string) func(string) request {
		return func(string) request { return request{[]byte(s), "application/json"} }
	}
	tests := []struct {
		name         string
		method, path string
		body         func(who string) request
		want         map[string]int
	}{
		{"create token", "POST", "/v1/tokens", jsonBody(`{"role":"agent"}`), only(201, "admin")},
		{"revoke token", "DELETE", "/v1/tokens/" + strconv.FormatInt(spare.ID, 10), nil, only(204, "admin")},
		{"add key", "POST", "/v1/publishers/acme/keys", func(string) request {
			pub, _, err := release.GenerateKey()
			if err != nil {
				t.Fatal(err)
			}
			return request{[]byte(`{"public_key":"` + pub.String() + `"}`), "application/json"}
		}, only(201, "admin", "acme")},
		{"get publisher", "GET", "/v1/publishers/acme", nil, all(200)},
		{"register plugin", "POST", "/v1/plugins", func(who string) request {
			owner := ""
			if who == "admin" {
				owner = `,"owner":"acme"`
			}
			return request{[]byte(fmt.Sprintf(`{"name":"p%d"%s}`, next(), owner)), "application/json"}
		}, only(201, "admin", "acme", "globex")},
		{"search plugins", "GET", "/v1/plugins?q=hello", nil, all(200)},
		{"get plugin", "GET", "/v1/plugins/hello", nil, all(200)},
		{"publish", "POST", "/v1/plugins/hello/releases", func(string) request {
			ct, b := f.makeRelease("hello", fmt.Sprintf("2.0.%d", next())).body(t)
			return request{b, ct}
		}, only(202, "admin", "hello-key")},
		{"get release", "GET", "/v1/plugins/hello/releases/1.0.0", nil, only(200, "admin", "acme", "hello-key")},
		{"get evaluation", "GET", "/v1/plugins/hello/releases/1.0.0/evaluation", nil, only(200, "admin", "acme", "hello-key")},
		{"approve", "POST", "/v1/plugins/hello/releases/1.1.0/approve", jsonBody(`{}`), only(200, "admin")},
		{"delete release", "DELETE", "/v1/plugins/hello/releases/1.2.0", nil, only(204, "admin")},
		{"delete missing release", "DELETE", "/v1/plugins/hello/releases/9.9.9", nil, only(404, "admin")},
		{"list releases", "GET", "/v1/releases?state=approved", nil, only(200, "admin")},
		{"versions", "GET", "/v1/plugins/hello/versions", nil, all(200)},
		{"download descriptor", "GET", "/v1/plugins/hello/versions/1.0.0/download/linux/amd64", nil, all(200)},
		{"artifact", "GET", "/v1/artifacts/hello/1.0.0/" + release.ArchiveName("hello", "1.0.0", release.Platform{OS: "linux", Arch: "amd64"}), nil, all(200)},
		{"shasums", "GET", "/v1/artifacts/hello/1.0.0/SHA256SUMS", nil, all(200)},
	}
	f.tokens["unknown"] = "vgr_not-a-token"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, got := map[string]int{"none": 401, "unknown": 401}, map[string]int{}
			for k, v := range tt.want {
				want[k] = v
			}
			for _, who := range callers {
				var req request
				if tt.body != nil {
					req = tt.body(who)
				}
				as := who
				if who == "none" {
					as = ""
				}
				code, b := f.do(tt.method, tt.path, as, bytes.NewReader(req.body), req.contentType)
				got[who] = code
				if code >= 400 {
					errorMessage(t, b) // every refusal is a JSON error
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("statuses by caller (-want +got):\n%s", diff)
			}
		})
	}
}
