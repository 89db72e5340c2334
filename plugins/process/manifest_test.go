package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestManifestValid(t *testing.T) {
	m := newManifest()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	got := []string{m.Name, m.Version, m.Collectors[0].Name, m.Promises[0].Name}
	if d := cmp.Diff([]string{"process", "0.1.0", "process", "running"}, got); d != "" {
		t.Errorf("manifest mismatch (-want +got):\n%s", d)
	}
}
