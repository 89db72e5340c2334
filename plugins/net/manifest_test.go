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
	got := []string{m.Name, m.Version}
	for _, p := range m.Promises {
		got = append(got, p.Name)
	}
	if d := cmp.Diff([]string{"net", "0.1.0", "tcp", "http"}, got); d != "" {
		t.Errorf("manifest mismatch (-want +got):\n%s", d)
	}
	if len(m.Collectors) != 0 {
		t.Errorf("%d collectors, want none", len(m.Collectors))
	}
}
