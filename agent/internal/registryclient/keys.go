package registryclient

import (
	"context"
	"fmt"
	"net/http"
)

// SigningKey is a publisher's registered signing key.
type SigningKey struct {
	KeyID     string `json:"key_id"`     // 16 hex digits, what `plugin publish --key-id` names
	PublicKey string `json:"public_key"` // "ed25519:<base64>"
}

// AddSigningKey registers publicKey ("ed25519:<base64>") as a key the
// publisher signs releases with, with that publisher's (or the admin's)
// token: POST /v1/publishers/{name}/keys → 201. A key already registered
// is an *Error with StatusCode 409; a malformed one, 400.
func (c *Client) AddSigningKey(ctx context.Context, publisher, publicKey string) (SigningKey, error) {
	var out SigningKey
	in := struct {
		PublicKey string `json:"public_key"`
	}{publicKey}
	if err := c.postJSON(ctx, "/v1/publishers/"+seg(publisher)+"/keys", in, http.StatusCreated, &out); err != nil {
		return SigningKey{}, fmt.Errorf("adding a signing key to publisher %s: %w", publisher, err)
	}
	return out, nil
}
