package release

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fixedKey is the key pair with the all-zero seed.
func fixedKey() (PublicKey, PrivateKey) {
	priv := PrivateKey(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)))
	return priv.Public(), priv
}

func TestPublicKeyText(t *testing.T) {
	pub, _ := fixedKey()
	const want = "ed25519:O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik="
	if diff := cmp.Diff(want, pub.String()); diff != "" {
		t.Errorf("String (-want +got):\n%s", diff)
	}
	got, err := ParsePublicKey(want)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(pub, got); diff != "" {
		t.Errorf("ParsePublicKey (-want +got):\n%s", diff)
	}
	// echo O2onvM...ik= | base64 -d | sha256sum | cut -c1-16
	if diff := cmp.Diff("139e3940e64b5491", KeyID(pub)); diff != "" {
		t.Errorf("KeyID (-want +got):\n%s", diff)
	}

	gpub, gpriv, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gpub, gpriv.Public()) {
		t.Error("GenerateKey: the public key is not the private key's")
	}
	round, err := ParsePublicKey(gpub.String())
	if err != nil || !bytes.Equal(round, gpub) {
		t.Errorf("ParsePublicKey(String()) = %v, %v; want %v", round, err, gpub)
	}
}

func TestParsePublicKeyErrors(t *testing.T) {
	for name, in := range map[string]string{
		"empty":        "",
		"no prefix":    "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=",
		"other algo":   "rsa:O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=",
		"bad base64":   "ed25519:!!!",
		"short":        "ed25519:AAAA",
		"url encoding": "ed25519:O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik_",
		"trailing":     "ed25519:O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik= ",
	} {
		t.Run(name, func(t *testing.T) {
			if k, err := ParsePublicKey(in); err == nil {
				t.Errorf("ParsePublicKey(%q) = %v, want an error", in, k)
			}
		})
	}
}

func TestPrivateKeyFile(t *testing.T) {
	_, priv := fixedKey()
	path := filepath.Join(t.TempDir(), "signing.key")
	if err := WritePrivateKeyFile(path, priv, false); err != nil {
		t.Fatal(err)
	}
	checkKeyFile(t, path, priv)

	_, other, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := WritePrivateKeyFile(path, other, false); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second write without overwrite: err = %v, want fs.ErrExist", err)
	}
	checkKeyFile(t, path, priv) // untouched
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WritePrivateKeyFile(path, other, true); err != nil {
		t.Fatal(err)
	}
	checkKeyFile(t, path, other)
}

func checkKeyFile(t *testing.T, path string, want PrivateKey) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, fi.Mode().Perm())
	}
	got, err := ReadPrivateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s holds another key", path)
	}
	b, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(b), "-----BEGIN VIGIL PLUGIN SIGNING KEY-----\n") {
		t.Errorf("%s does not start with the PEM header:\n%s", path, b)
	}
}

func TestParsePrivateKeyErrors(t *testing.T) {
	_, priv := fixedKey()
	good := string(MarshalPrivateKey(priv))
	for name, in := range map[string]string{
		"empty":      "",
		"not pem":    "hello",
		"other type": strings.ReplaceAll(good, "VIGIL PLUGIN SIGNING KEY", "PRIVATE KEY"),
		"short seed": "-----BEGIN VIGIL PLUGIN SIGNING KEY-----\nAAAA\n-----END VIGIL PLUGIN SIGNING KEY-----\n",
		"trailing":   good + "junk\n",
		"headers":    strings.Replace(good, "KEY-----\n", "KEY-----\nProc-Type: 4,ENCRYPTED\n\n", 1),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParsePrivateKey([]byte(in)); err == nil {
				t.Errorf("ParsePrivateKey(%q) succeeded, want an error", in)
			}
		})
	}
	if _, err := ParsePrivateKey([]byte(good)); err != nil {
		t.Errorf("ParsePrivateKey(good) = %v", err)
	}
}
