package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/sdk"
)

func TestManifestValid(t *testing.T) {
	m := newManifest()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range m.Collectors {
		got = append(got, c.Name)
	}
	want := []string{"cpu", "memory", "swap", "disk", "diskio", "net", "load", "system"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("collectors mismatch (-want +got):\n%s", d)
	}
	if m.Name != "system" || m.Version != "0.1.0" || len(m.Promises) != 0 {
		t.Errorf("manifest = %s %s with %d promises, want system 0.1.0 with none", m.Name, m.Version, len(m.Promises))
	}
}

// Every collector builds from its schema's defaults alone.
func TestCollectorsBuildFromDefaults(t *testing.T) {
	for _, c := range newManifest().Collectors {
		if _, err := c.New(c.Schema.WithDefaults(sdk.NewConfig(nil))); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
	}
}
