package registryclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/agent/internal/registryclient"
)

func TestAddSigningKey(t *testing.T) {
	type call struct{ Method, Path, Auth, ContentType, Body string }
	var mu sync.Mutex
	var calls []call
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		calls = append(calls, call{r.Method, r.URL.EscapedPath(), r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(b)})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if string(b) == `{"public_key":"ed25519:taken"}` {
			w.WriteHeader(http.StatusConflict)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "signing key 0011223344556677 is already registered"})
			return
		}
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]string{"key_id": "0123456789abcdef", "public_key": "ed25519:AAAA"})
	}))
	defer srv.Close()
	c, err := registryclient.New(srv.URL+"/", "vgr_pub", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	got, err := c.AddSigningKey(ctx, "acme corp", "ed25519:AAAA")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(registryclient.SigningKey{KeyID: "0123456789abcdef", PublicKey: "ed25519:AAAA"}, got); d != "" {
		t.Errorf("AddSigningKey (-want +got):\n%s", d)
	}
	_, err = c.AddSigningKey(ctx, "acme", "ed25519:taken")
	var e *registryclient.Error
	if !errors.As(err, &e) || e.StatusCode != http.StatusConflict || e.Message != "signing key 0011223344556677 is already registered" {
		t.Errorf("taken key: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []call{
		{"POST", "/v1/publishers/acme%20corp/keys", "Bearer vgr_pub", "application/json", `{"public_key":"ed25519:AAAA"}`},
		{"POST", "/v1/publishers/acme/keys", "Bearer vgr_pub", "application/json", `{"public_key":"ed25519:taken"}`},
	}
	if d := cmp.Diff(want, calls); d != "" {
		t.Errorf("requests (-want +got):\n%s", d)
	}
}
