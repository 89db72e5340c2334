package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/sdk"
	"github.com/vigilmon/vigil/sdk/host"
	"github.com/vigilmon/vigil/sdk/sdktest"
)

// The manifest must be valid, or Serve refuses to start.
func TestManifest(t *testing.T) {
	if err := newManifest().Validate(); err != nil {
		t.Fatal(err)
	}
}

// The README shows example.hcl as it is.
func TestReadmeShowsExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("example.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```hcl\n"+string(example)+"```\n") {
		t.Errorf("README.md does not show example.hcl as it is:\n%s", example)
	}
}

// The plugin as the agent sees it: served over gRPC in-process...
func TestServe(t *testing.T) {
	checkPlugin(t, sdktest.Serve(t, newManifest()))
}

// ...and as a built binary launched through go-plugin, checksum-verified.
func TestServeBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin binary")
	}
	p := sdktest.Start(t, sdktest.Build(t, "."), sdktest.Options{})
	if d := cmp.Diff([]string{pluginName, pluginVersion}, []string{p.Info().Name, p.Info().Version}); d != "" {
		t.Errorf("manifest (-want +got):\n%s", d)
	}
	checkPlugin(t, p)
}

// checkPlugin calls both methods over the wire. Ages are measured from
// the real clock here, so only their lower bound is exact.
func checkPlugin(t *testing.T, p *sdktest.Plugin) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "backup.tar.gz")
	if err := os.WriteFile(path, make([]byte, 100), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}

	pts, err := p.Collect("files", map[string]any{"paths": []string{filepath.Join(dir, "*.gz")}})
	if err != nil {
		t.Fatal(err)
	}
	type point struct {
		Measurement string
		Tags        map[string]string
		Fields      map[string]any
	}
	var got []point
	for _, pt := range pts {
		if age, ok := pt.Fields["age_seconds"].(float64); ok {
			if age < 7200 {
				t.Errorf("age_seconds %v, want at least 7200", age)
			}
			pt.Fields["age_seconds"] = 7200.0
		}
		got = append(got, point{pt.Measurement, pt.Tags, pt.Fields})
	}
	want := []point{
		{"hello_glob", map[string]string{"pattern": filepath.Join(dir, "*.gz")}, map[string]any{"matches": 1.0}},
		{"hello_file", map[string]string{"path": path}, map[string]any{"size_bytes": 100.0, "age_seconds": 7200.0}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("points (-want +got):\n%s", d)
	}

	for _, tc := range []struct {
		name   string
		maxAge string
		status sdk.Status
	}{
		{"fresh", "3h", sdk.OK},
		{"stale", "1h", sdk.Critical},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := p.Check("fresh", map[string]any{"path": path, "max_age": tc.maxAge})
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.status, res.Status); d != "" {
				t.Errorf("status (-want +got):\n%s\nmessage: %s", d, res.Message)
			}
		})
	}

	diags, err := p.Configure(host.Promise, "fresh", map[string]any{"path": path, "max_age": "1h", "warn_age": "2h"})
	if err != nil {
		t.Fatal(err)
	}
	var paths [][]string
	for _, d := range diags {
		paths = append(paths, d.Path)
	}
	if d := cmp.Diff([][]string{{"warn_age"}}, paths); d != "" {
		t.Errorf("diagnostic paths (-want +got):\n%s", d)
	}
}
