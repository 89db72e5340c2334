package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
