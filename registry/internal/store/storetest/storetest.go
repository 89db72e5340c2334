// Package storetest is the conformance suite every store.Store backend
// runs: the same tests, against a real database, for SQLite and
// PostgreSQL. It is not a fake store; it holds no backend of its own.
package storetest

import (
	"context"
	"crypto/ed25519"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/registry/internal/store"
)

// Open opens a store on a fresh, empty database, closed when t ends, and
// returns a function that opens the same database again (for the caller to
// close).
type Open func(t *testing.T) (s store.Store, reopen func() (store.Store, error))

// Run runs the suite; every subtest gets its own database.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		run  func(*testing.T, Open)
	}{
		{"Publishers", testPublishers},
		{"Plugins", testPlugins},
		{"Credentials", testCredentials},
		{"CredentialScopes", testCredentialScopes},
		{"Releases", testReleases},
		{"AllowedTransitions", testAllowedTransitions},
		{"ForbiddenTransitions", testForbiddenTransitions},
		{"ConcurrentTransitions", testConcurrentTransitions},
		{"Evaluations", testEvaluations},
		{"DeleteRelease", testDeleteRelease},
		{"Reopen", testReopen},
		{"RememberBatch", testRememberBatch},
		{"ForgetBatch", testForgetBatch},
		{"ForgetBatches", testForgetBatches},
		{"ConcurrentRememberBatch", testConcurrentRememberBatch},
		{"ConfirmBatches", testConfirmBatches},
		{"TakeOverBatch", testTakeOverBatch},
		{"ConcurrentTakeOverBatch", testConcurrentTakeOverBatch},
		{"Nodes", testNodes},
		{"LatestKinds", testLatestKinds},
		{"LatestNewest", testLatestNewest},
		{"LatestMany", testLatestMany},
		{"ConcurrentPutLatest", testConcurrentPutLatest},
		{"PromiseResults", testPromiseResults},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, open) })
	}
}

// wantErr fails t unless err is (or, for nil, is not) the sentinel.
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("%s: unexpected error %v", what, err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

func must[T any](t *testing.T, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

func key(seed byte) ed25519.PublicKey {
	s := make([]byte, ed25519.SeedSize)
	s[0] = seed
	return ed25519.NewKeyFromSeed(s).Public().(ed25519.PublicKey)
}

func testPublishers(t *testing.T, open Open) {
	ctx := context.Background()
	s, _ := open(t)
	acme := must[store.Publisher](t, "create acme")(s.CreatePublisher(ctx, "acme"))
	globex := must[store.Publisher](t, "create globex")(s.CreatePublisher(ctx, "globex"))
	if acme.ID == globex.ID || acme.Created.IsZero() {
		t.Fatalf("publishers need distinct ids and a creation time: %+v %+v", acme, globex)
	}
	k1 := must[store.SigningKey](t, "add key")(s.AddSigningKey(ctx, acme.ID, "acme-1", key(1)))
	k2 := must[store.SigningKey](t, "add key")(s.AddSigningKey(ctx, acme.ID, "acme-2", key(2)))
	acme.Keys = []store.SigningKey{k1, k2}

	got := must[store.Publisher](t, "get acme")(s.Publisher(ctx, acme.ID))
	if d := cmp.Diff(acme, got); d != "" {
		t.Errorf("Publisher(acme) (-want +got):\n%s", d)
	}
	list := must[[]store.Publisher](t, "list")(s.ListPublishers(ctx))
	if d := cmp.Diff([]store.Publisher{acme, globex}, list); d != "" {
		t.Errorf("ListPublishers (-want +got):\n%s", d)
	}

	_, err := s.CreatePublisher(ctx, "acme")
	wantErr(t, "duplicate publisher", err, store.ErrConflict)
	_, err = s.CreatePublisher(ctx, " ")
	wantErr(t, "empty publisher name", err, store.ErrInvalid)
	_, err = s.Publisher(ctx, globex.ID+100)
	wantErr(t, "missing publisher", err, store.ErrNotFound)
	_, err = s.AddSigningKey(ctx, globex.ID, "acme-1", key(3))
	wantErr(t, "key id taken by another publisher", err, store.ErrConflict)
	_, err = s.AddSigningKey(ctx, globex.ID, "short", key(3)[:16])
	wantErr(t, "short key", err, store.ErrInvalid)
	_, err = s.AddSigningKey(ctx, globex.ID+100, "orphan", key(4))
	wantErr(t, "key for missing publisher", err, store.ErrNotFound)
}

func testPlugins(t *testing.T, open Open) {
	ctx := context.Background()
	s, _ := open(t)
	acme := must[store.Publisher](t, "create acme")(s.CreatePublisher(ctx, "acme"))
	globex := must[store.Publisher](t, "create globex")(s.CreatePublisher(ctx, "globex"))
	var made []store.Plugin
	for _, p := range []store.Plugin{
		{Name: "redis", Owner: acme.ID, Description: "Redis metrics", SourceURL: "https://example.com/redis"},
		{Name: "apache", Owner: globex.ID},
		{Name: "nginx", Owner: acme.ID, Description: "nginx stub_status"},
	} {
		got := must[store.Plugin](t, "create "+p.Name)(s.CreatePlugin(ctx, p))
		if got.Created.IsZero() {
			t.Errorf("CreatePlugin(%s) set no creation time", p.Name)
		}
		made = append(made, got)
	}
	redis, apache, nginx := made[0], made[1], made[2]
	if d := cmp.Diff(redis, must[store.Plugin](t, "get")(s.Plugin(ctx, "redis"))); d != "" {
		t.Errorf("Plugin(redis) (-want +got):\n%s", d)
	}
	for _, tc := range []struct {
		name  string
		owner int64
		want  []store.Plugin
	}{
		{"all", 0, []store.Plugin{apache, nginx, redis}},
		{"acme", acme.ID, []store.Plugin{nginx, redis}},
		{"globex", globex.ID, []store.Plugin{apache}},
		{"nobody", globex.ID + 100, nil},
	} {
		got := must[[]store.Plugin](t, "list")(s.ListPlugins(ctx, tc.owner))
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("ListPlugins(%s) (-want +got):\n%s", tc.name, d)
		}
	}
	_, err := s.CreatePlugin(ctx, store.Plugin{Name: "redis", Owner: globex.ID})
	wantErr(t, "duplicate plugin", err, store.ErrConflict)
	_, err = s.CreatePlugin(ctx, store.Plugin{Name: "orphan", Owner: globex.ID + 100})
	wantErr(t, "plugin of missing publisher", err, store.ErrNotFound)
	_, err = s.CreatePlugin(ctx, store.Plugin{Owner: acme.ID})
	wantErr(t, "nameless plugin", err, store.ErrInvalid)
	_, err = s.Plugin(ctx, "memcached")
	wantErr(t, "missing plugin", err, store.ErrNotFound)
}

func testCredentials(t *testing.T, open Open) {
	ctx := context.Background()
	s, _ := open(t)
	acme := must[store.Publisher](t, "create acme")(s.CreatePublisher(ctx, "acme"))
	must[store.Plugin](t, "create redis")(s.CreatePlugin(ctx, store.Plugin{Name: "redis", Owner: acme.ID}))

	secrets := map[int64]string{}
	var made []store.Credential
	for _, c := range []store.Credential{
		{Role: store.RoleAdmin},
		{Role: store.RolePublisher, Publisher: acme.ID},
		{Role: store.RolePlugin, Plugin: "redis"},
		{Role: store.RoleAgent, Node: "web-1"},
		{Role: store.RoleAgent},
	} {
		secret, h := store.NewSecret()
		c.Hash = h
		got := must[store.Credential](t, "create "+string(c.Role))(s.CreateCredential(ctx, c))
		if got.ID == 0 || got.Created.IsZero() || got.Revoked != nil {
			t.Fatalf("CreateCredential(%s) = %+v: want an id, a creation time, not revoked", c.Role, got)
		}
		secrets[got.ID] = secret
		made = append(made, got)
	}
	for _, c := range made {
		got := must[store.Credential](t, "lookup")(s.CredentialByHash(ctx, store.HashSecret(secrets[c.ID])))
		if d := cmp.Diff(c, got); d != "" {
			t.Errorf("CredentialByHash(%s) (-want +got):\n%s", c.Role, d)
		}
	}
	_, err := s.CredentialByHash(ctx, store.HashSecret("vgr_not-a-token"))
	wantErr(t, "unknown secret", err, store.ErrNotFound)
	_, err = s.CreateCredential(ctx, store.Credential{Role: store.RoleAgent, Hash: made[0].Hash})
	wantErr(t, "duplicate hash", err, store.ErrConflict)
	_, err = s.CreateCredential(ctx, store.Credential{Role: store.RoleAdmin})
	wantErr(t, "no hash", err, store.ErrInvalid)

	pub := made[1]
	wantErr(t, "revoke", s.RevokeCredential(ctx, pub.ID), nil)
	_, err = s.CredentialByHash(ctx, pub.Hash)
	wantErr(t, "lookup of revoked credential", err, store.ErrNotFound)
	wantErr(t, "revoke again", s.RevokeCredential(ctx, pub.ID), nil)
	wantErr(t, "revoke missing", s.RevokeCredential(ctx, made[len(made)-1].ID+100), store.ErrNotFound)
	list := must[[]store.Credential](t, "list")(s.ListCredentials(ctx))
	if len(list) != len(made) {
		t.Fatalf("ListCredentials returned %d, want %d", len(list), len(made))
	}
	for i, c := range list {
		if revoked := c.Revoked != nil; revoked != (c.ID == pub.ID) {
			t.Errorf("credential %d (%s): revoked=%v", c.ID, c.Role, revoked)
		}
		c.Revoked = nil
		if d := cmp.Diff(made[i], c); d != "" {
			t.Errorf("ListCredentials[%d] (-want +got):\n%s", i, d)
		}
	}
	if _, err := s.CredentialByHash(ctx, made[0].Hash); err != nil {
		t.Errorf("revoking one credential affected another: %v", err)
	}
}

func testCredentialScopes(t *testing.T, open Open) {
	ctx := context.Background()
	s, _ := open(t)
	acme := must[store.Publisher](t, "create acme")(s.CreatePublisher(ctx, "acme"))
	must[store.Plugin](t, "create redis")(s.CreatePlugin(ctx, store.Plugin{Name: "redis", Owner: acme.ID}))
	for _, tc := range []struct {
		name string
		c    store.Credential
		want error
	}{
		{"admin with a publisher", store.Credential{Role: store.RoleAdmin, Publisher: acme.ID}, store.ErrInvalid},
		{"publisher without one", store.Credential{Role: store.RolePublisher}, store.ErrInvalid},
		{"publisher with a plugin", store.Credential{Role: store.RolePublisher, Publisher: acme.ID, Plugin: "redis"}, store.ErrInvalid},
		{"plugin without one", store.Credential{Role: store.RolePlugin}, store.ErrInvalid},
		{"plugin with a node", store.Credential{Role: store.RolePlugin, Plugin: "redis", Node: "n"}, store.ErrInvalid},
		{"agent with a plugin", store.Credential{Role: store.RoleAgent, Plugin: "redis"}, store.ErrInvalid},
		{"unknown role", store.Credential{Role: "root"}, store.ErrInvalid},
		{"missing publisher", store.Credential{Role: store.RolePublisher, Publisher: acme.ID + 100}, store.ErrNotFound},
		{"missing plugin", store.Credential{Role: store.RolePlugin, Plugin: "memcached"}, store.ErrNotFound},
	} {
		_, tc.c.Hash = store.NewSecret()
		_, err := s.CreateCredential(ctx, tc.c)
		wantErr(t, tc.name, err, tc.want)
	}
	if list := must[[]store.Credential](t, "list")(s.ListCredentials(ctx)); len(list) != 0 {
		t.Errorf("refused credentials were stored: %+v", list)
	}
}

func testReopen(t *testing.T, open Open) {
	ctx := context.Background()
	s, reopen := open(t)
	want := must[store.Publisher](t, "create")(s.CreatePublisher(ctx, "acme"))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for i := range 2 { // migrations already applied must not run again
		s2, err := reopen()
		if err != nil {
			t.Fatalf("reopen %d: %v", i, err)
		}
		got, err := s2.Publisher(ctx, want.ID)
		if err != nil {
			t.Fatalf("reopen %d: %v", i, err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("reopen %d: publisher (-want +got):\n%s", i, d)
		}
		if err := s2.Close(); err != nil {
			t.Fatalf("closing reopened store: %v", err)
		}
	}
}
