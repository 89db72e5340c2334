package command

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/sdk/release"
)

// keyRegistry is a fake registry serving POST /v1/publishers/{name}/keys
// for publisher acme's token; it records the keys it was sent.
type keyRegistry struct {
	*httptest.Server
	mu   sync.Mutex
	got  []string // "publisher public_key"
	seen map[string]bool
}

func newKeyRegistry(t *testing.T) *keyRegistry {
	k := &keyRegistry{seen: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/publishers/{name}/keys", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+testPublisherToken {
			writeJSONTest(w, http.StatusUnauthorized, map[string]string{"error": "unknown token"})
			return
		}
		if r.PathValue("name") != "acme" {
			writeJSONTest(w, http.StatusForbidden, map[string]string{"error": "this token may not add keys to " + r.PathValue("name")})
			return
		}
		var in struct {
			PublicKey string `json:"public_key"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			writeJSONTest(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		pub, err := release.ParsePublicKey(in.PublicKey)
		if err != nil {
			writeJSONTest(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		k.mu.Lock()
		defer k.mu.Unlock()
		k.got = append(k.got, r.PathValue("name")+" "+in.PublicKey)
		if k.seen[in.PublicKey] {
			writeJSONTest(w, http.StatusConflict, map[string]string{"error": "signing key " + release.KeyID(pub) + " is already registered"})
			return
		}
		k.seen[in.PublicKey] = true
		writeJSONTest(w, http.StatusCreated, map[string]string{"key_id": release.KeyID(pub), "public_key": pub.String()})
	})
	k.Server = httptest.NewServer(mux)
	t.Cleanup(k.Close)
	return k
}

func (k *keyRegistry) received() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.got...)
}

func TestPluginKeyAdd(t *testing.T) {
	reg := newKeyRegistry(t)
	pub, priv, err := release.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "vigil-signing.key")
	if err := release.WritePrivateKeyFile(keyFile, priv, false); err != nil {
		t.Fatal(err)
	}
	id := release.KeyID(pub)

	r := vigil("plugin", "key", "add", "acme", "--public-key", pub.String(), "--registry", reg.URL, "--token", testPublisherToken)
	want := result{code: ExitOK, stdout: "Registered signing key " + id + " for publisher acme.\n" +
		"Releases signed with it may now be published:\n" +
		"  vigil plugin publish <dist> --registry " + reg.URL + " --plugin-key <key> --key <signing key> --wait\n"}
	if d := cmp.Diff(want, r, cmp.AllowUnexported(result{})); d != "" {
		t.Errorf("--public-key (-want +got):\n%s", d)
	}

	// The same key from the private key file: the registry already has it.
	r = vigil("plugin", "key", "add", "acme", "--key", keyFile, "--registry", reg.URL, "--token", testPublisherToken)
	want = result{code: ExitFailure, stderr: "vigil plugin key add: adding a signing key to publisher acme: POST /v1/publishers/acme/keys: 409: signing key " + id + " is already registered\n"}
	if d := cmp.Diff(want, r, cmp.AllowUnexported(result{})); d != "" {
		t.Errorf("--key, taken (-want +got):\n%s", d)
	}

	other, _, err := release.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	r = vigil("plugin", "key", "add", "acme", "--public-key", other.String(), "--registry", reg.URL, "--token", testPublisherToken, "--format", "json")
	var got map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != ExitOK {
		t.Fatalf("json: exit %d, %v:\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if d := cmp.Diff(map[string]string{"key_id": release.KeyID(other), "public_key": other.String()}, got); d != "" {
		t.Errorf("json (-want +got):\n%s", d)
	}

	if d := cmp.Diff([]string{"acme " + pub.String(), "acme " + pub.String(), "acme " + other.String()}, reg.received()); d != "" {
		t.Errorf("keys sent (-want +got):\n%s", d)
	}
}

func TestPluginKeyAddRefused(t *testing.T) {
	reg := newKeyRegistry(t)
	pub, _, err := release.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	remote := []string{"--registry", reg.URL, "--token", testPublisherToken}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no verb", nil, ExitUsage, "vigil plugin key: want the subcommand add"},
		{"other verb", []string{"remove", "acme"}, ExitUsage, "vigil plugin key: want the subcommand add"},
		{"no publisher", append([]string{"add", "--public-key", pub.String()}, remote...), ExitUsage, "give exactly one publisher name"},
		{"no key", append([]string{"add", "acme"}, remote...), ExitUsage, "give the key with exactly one of --public-key or --key"},
		{"both keys", append([]string{"add", "acme", "--public-key", pub.String(), "--key", "k"}, remote...), ExitUsage,
			"give the key with exactly one of --public-key or --key"},
		{"bad public key", append([]string{"add", "acme", "--public-key", "rsa:AAAA"}, remote...), ExitUsage, "--public-key: "},
		{"missing key file", append([]string{"add", "acme", "--key", filepath.Join(t.TempDir(), "none")}, remote...), ExitUsage, "--key: reading private key"},
		{"no registry", []string{"add", "acme", "--public-key", pub.String(), "--token", "x"}, ExitUsage, "--registry is required"},
		{"no token", []string{"add", "acme", "--public-key", pub.String(), "--registry", reg.URL}, ExitUsage, "--token is required"},
		{"bad format", append([]string{"add", "acme", "--public-key", pub.String(), "--format", "xml"}, remote...), ExitUsage, `--format must be human or json, not "xml"`},
		{"unknown token", []string{"add", "acme", "--public-key", pub.String(), "--registry", reg.URL, "--token", "vgr_nope"}, ExitFailure,
			"adding a signing key to publisher acme: POST /v1/publishers/acme/keys: 401: unknown token"},
		{"other publisher", append([]string{"add", "globex", "--public-key", pub.String()}, remote...), ExitFailure,
			"POST /v1/publishers/globex/keys: 403: this token may not add keys to globex"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := vigil(append([]string{"plugin", "key"}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.stderr) || r.stdout != "" {
				t.Errorf("got exit %d, stdout %q, stderr %q; want exit %d and stderr containing %q", r.code, r.stdout, r.stderr, tc.code, tc.stderr)
			}
		})
	}
	if got := reg.received(); len(got) != 0 {
		t.Errorf("refused commands reached the registry: %q", got)
	}

	r := vigil("plugin", "key", "add", "--help")
	if r.code != ExitOK || !strings.HasPrefix(r.stdout, "Usage: vigil plugin key add") {
		t.Errorf("--help: %+v", r)
	}
}
