package release

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// PublicKey is a publisher's ed25519 public key. Its text form (String,
// ParsePublicKey) is "ed25519:" followed by the standard base64 of the key.
type PublicKey ed25519.PublicKey

// PrivateKey is a publisher's ed25519 private key. Its file form
// (MarshalPrivateKey, ParsePrivateKey) is a PEM block of type
// "VIGIL PLUGIN SIGNING KEY" holding the 32-byte seed.
type PrivateKey ed25519.PrivateKey

const (
	publicKeyPrefix = "ed25519:"
	pemType         = "VIGIL PLUGIN SIGNING KEY"
)

// GenerateKey makes a new key pair from crypto/rand.
func GenerateKey() (PublicKey, PrivateKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating ed25519 key: %w", err)
	}
	return PublicKey(pub), PrivateKey(priv), nil
}

// String returns the text form "ed25519:<base64>".
func (k PublicKey) String() string {
	return publicKeyPrefix + base64.StdEncoding.EncodeToString(k)
}

// ParsePublicKey parses the text form "ed25519:<base64>".
func ParsePublicKey(s string) (PublicKey, error) {
	b64, ok := strings.CutPrefix(s, publicKeyPrefix)
	if !ok {
		return nil, fmt.Errorf("parsing public key: want %q followed by base64", publicKeyPrefix)
	}
	b, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("parsing public key: %w", err)
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("parsing public key: %d bytes, want %d", len(b), ed25519.PublicKeySize)
	}
	return PublicKey(b), nil
}

// KeyID is a short name for a public key: the first 8 bytes of its
// sha256, in hex. It identifies a key in messages; it is not a substitute
// for comparing the whole key.
func KeyID(pub PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// Public returns the public half of k.
func (k PrivateKey) Public() PublicKey {
	return PublicKey(ed25519.PrivateKey(k).Public().(ed25519.PublicKey))
}

// MarshalPrivateKey returns the PEM file form of k.
func MarshalPrivateKey(k PrivateKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: ed25519.PrivateKey(k).Seed()})
}

// ParsePrivateKey parses the PEM file form written by MarshalPrivateKey.
func ParsePrivateKey(b []byte) (PrivateKey, error) {
	blk, rest := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("parsing private key: no %q PEM block", pemType)
	}
	if blk.Type != pemType {
		return nil, fmt.Errorf("parsing private key: PEM block is %q, want %q", blk.Type, pemType)
	}
	if len(blk.Headers) != 0 {
		return nil, errors.New("parsing private key: unexpected PEM headers")
	}
	if len(strings.TrimSpace(string(rest))) != 0 {
		return nil, errors.New("parsing private key: trailing data after the PEM block")
	}
	if len(blk.Bytes) != ed25519.SeedSize {
		return nil, fmt.Errorf("parsing private key: seed is %d bytes, want %d", len(blk.Bytes), ed25519.SeedSize)
	}
	return PrivateKey(ed25519.NewKeyFromSeed(blk.Bytes)), nil
}

// WritePrivateKeyFile writes k to path with mode 0600. Unless overwrite is
// set it fails with an error satisfying errors.Is(err, fs.ErrExist) when
// path exists; with overwrite it replaces the file atomically.
func WritePrivateKeyFile(path string, k PrivateKey, overwrite bool) error {
	data := MarshalPrivateKey(k)
	if !overwrite {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("writing private key: %w", err)
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			os.Remove(path)
			return fmt.Errorf("writing private key: %w", err)
		}
		if err := f.Close(); err != nil {
			os.Remove(path)
			return fmt.Errorf("writing private key: %w", err)
		}
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".vigil-key-*") // mode 0600
	if err != nil {
		return fmt.Errorf("writing private key: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename this is a no-op
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing private key: %w", err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("writing private key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing private key: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing private key: %w", err)
	}
	return nil
}

// ReadPrivateKeyFile reads a key written by WritePrivateKeyFile.
func ReadPrivateKeyFile(path string) (PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading private key: %w", err)
	}
	k, err := ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}
