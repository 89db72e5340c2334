package store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// Hash is the SHA-256 of a credential's secret; the store keeps only this.
type Hash [sha256.Size]byte

// String returns the hash in lowercase hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// secretPrefix marks Vigil registry tokens so they are recognisable in
// logs and by secret scanners.
const secretPrefix = "vgr_"

// NewSecret returns a fresh token (32 random bytes, base64url, prefixed)
// to show its owner once, and the hash to store.
func NewSecret() (secret string, h Hash) {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it panics instead)
	secret = secretPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return secret, HashSecret(secret)
}

// HashSecret returns the hash under which a presented token is looked up.
// The secret has 256 bits of entropy, so a lookup by its hash leaks nothing
// useful through timing.
func HashSecret(secret string) Hash { return sha256.Sum256([]byte(secret)) }
