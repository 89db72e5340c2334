package command

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vigilmon/vigil/sdk/release"
)

func TestPluginKeygen(t *testing.T) {
	key := filepath.Join(t.TempDir(), "signing.key")
	r := vigil("plugin", "keygen", "--out", key)
	if r.code != ExitOK {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	priv := readKey(t, key)
	pub := priv.Public()
	want := "Wrote the private key to " + key + " (mode 0600): keep it secret.\n" +
		"Public key: " + pub.String() + "\nKey ID:     " + release.KeyID(pub) + "\n"
	if diff := cmp.Diff(want, r.stdout); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}

	// No silent overwrite.
	r = vigil("plugin", "keygen", "--out", key)
	if r.code != ExitFailure || !strings.Contains(r.stderr, "exists; use --force") {
		t.Errorf("second keygen: exit %d, stderr %q; want %d and a hint at --force", r.code, r.stderr, ExitFailure)
	}
	if again := readKey(t, key); !bytes.Equal(again, priv) {
		t.Error("the key file was replaced without --force")
	}

	r = vigil("plugin", "keygen", "--out", key, "--force", "--format", "json")
	if r.code != ExitOK {
		t.Fatalf("keygen --force: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("%v:\n%s", err, r.stdout)
	}
	newPriv := readKey(t, key)
	if bytes.Equal(newPriv, priv) {
		t.Error("--force kept the old key")
	}
	wantJSON := map[string]string{"public_key": newPriv.Public().String(), "key_id": release.KeyID(newPriv.Public()), "private_key_file": key}
	if diff := cmp.Diff(wantJSON, got); diff != "" {
		t.Errorf("json (-want +got):\n%s", diff)
	}
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(got["key_id"]) {
		t.Errorf("key id %q is not 16 hex digits", got["key_id"])
	}
}

func TestPluginKeygenUsage(t *testing.T) {
	for name, args := range map[string][]string{
		"argument":   {"plugin", "keygen", "extra"},
		"bad format": {"plugin", "keygen", "--format", "xml"},
		"bad flag":   {"plugin", "keygen", "--bogus"},
	} {
		t.Run(name, func(t *testing.T) {
			if r := vigil(args...); r.code != ExitUsage || r.stderr == "" {
				t.Errorf("exit %d, stderr %q; want %d and a message", r.code, r.stderr, ExitUsage)
			}
		})
	}
}

// readKey reads a key file, checking its mode is 0600.
func readKey(t *testing.T, path string) release.PrivateKey {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, fi.Mode().Perm())
	}
	k, err := release.ReadPrivateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
