package httpapi

import (
	"strings"
	"testing"
)

func TestDecodeTokenRequest(t *testing.T) {
	tests := []struct {
		name, body string
		want       string // error, "" for none
	}{
		{"agent", `{"role":"agent","node":"web-1"}`, ""},
		{"publisher", `{"role":"publisher","publisher":"acme"}`, ""},
		{"unknown field", `{"role":"agent","nod":"web-1"}`, `decoding request body: unknown field "nod"`},
		{"empty", ``, "request body is empty; send a JSON object"},
		{"trailing", `{"role":"agent"} {}`, "decoding request body: unexpected data after the JSON object"},
		{"publisher missing", `{"role":"publisher"}`, "publisher is required for role publisher"},
		{"bad publisher", `{"role":"publisher","publisher":"Acme Inc"}`, `invalid publisher name "Acme Inc": want a lowercase letter followed by lowercase letters, digits, '_' or '-'`},
		{"plugin role", `{"role":"plugin"}`, `role "plugin" is not one of admin, publisher, agent (plugin keys come from registering a plugin)`},
		{"node on admin", `{"role":"admin","node":"x"}`, "node is only for role agent, not admin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if err := decodeTokenRequest(tt.body); err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func decodeTokenRequest(body string) error {
	var req TokenRequest
	if err := DecodeJSON(strings.NewReader(body), &req); err != nil {
		return err
	}
	return req.Validate()
}

func FuzzDecodeTokenRequest(f *testing.F) {
	for _, s := range []string{`{"role":"agent","node":"web-1"}`, `{"role":"publisher","publisher":"acme"}`, `{"role":1}`, `[]`, `{"role":"admin"}{}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var req TokenRequest
		if err := DecodeJSON(strings.NewReader(body), &req); err != nil {
			return
		}
		if req.Validate() == nil && req.Role != "admin" && req.Role != "publisher" && req.Role != "agent" {
			t.Errorf("accepted role %q", req.Role)
		}
	})
}
