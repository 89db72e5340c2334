package store_test

import (
	"errors"
	"testing"

	"github.com/vigilmon/vigil/registry/internal/store"
)

// TestTransition checks the whole table, every pair of states, against the
// lifecycle written out by hand.
func TestTransition(t *testing.T) {
	want := map[store.State][]store.State{
		store.Pending:    {store.Evaluating, store.Abandoned},
		store.Evaluating: {store.Passed, store.Failed, store.Pending, store.Abandoned},
		store.Passed:     {store.Approved, store.Rejected, store.Abandoned},
		store.Failed:     {store.Abandoned},
		store.Approved:   {store.Withdrawn, store.Abandoned},
		store.Rejected:   {store.Abandoned},
		store.Withdrawn:  {store.Approved, store.Abandoned},
	}
	for _, from := range store.States {
		for _, to := range store.States {
			ok := false
			for _, s := range want[from] {
				ok = ok || s == to
			}
			err := store.Transition(from, to)
			if ok && err != nil {
				t.Errorf("Transition(%s, %s) = %v, want allowed", from, to, err)
			}
			if !ok && !errors.Is(err, store.ErrInvalidTransition) {
				t.Errorf("Transition(%s, %s) = %v, want ErrInvalidTransition", from, to, err)
			}
		}
	}
	for _, tc := range []struct{ from, to store.State }{{"", store.Pending}, {store.Pending, "live"}} {
		if err := store.Transition(tc.from, tc.to); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Transition(%q, %q) = %v, want ErrInvalid", tc.from, tc.to, err)
		}
	}
}

func TestRequiresAdmin(t *testing.T) {
	admin := map[store.State]bool{store.Approved: true, store.Rejected: true, store.Withdrawn: true, store.Abandoned: true}
	for _, s := range store.States {
		if got := store.RequiresAdmin(s); got != admin[s] {
			t.Errorf("RequiresAdmin(%s) = %v, want %v", s, got, admin[s])
		}
	}
}

func TestSecret(t *testing.T) {
	a, ha := store.NewSecret()
	b, hb := store.NewSecret()
	if a == b || ha == hb {
		t.Fatal("two secrets are equal")
	}
	if store.HashSecret(a) != ha || store.HashSecret(a+"x") == ha {
		t.Error("HashSecret does not reproduce NewSecret's hash")
	}
	if len(a) != len("vgr_")+43 {
		t.Errorf("secret %q: want vgr_ and 43 base64url characters (32 bytes)", a)
	}
}
