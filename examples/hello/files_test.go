package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/sdk"
	"github.com/vigilmon/vigil/sdk/metric"
)

func TestFilesGather(t *testing.T) {
	dir := makeFiles(t,
		fixture{"a.log", 10, time.Minute},
		fixture{"b.log", 2048, 2 * time.Hour},
		fixture{"c.txt", 1, time.Second},
	)
	if err := mkdir(filepath.Join(dir, "d.log")); err != nil { // a directory: skipped
		t.Fatal(err)
	}
	logs, none := filepath.Join(dir, "*.log"), filepath.Join(dir, "*.gz")
	g, err := newFiles(sdk.NewConfig(map[string]any{"paths": []string{logs, none}, "max_files": 10}))
	if err != nil {
		t.Fatal(err)
	}
	got, err := gather(t, g)
	if err != nil {
		t.Fatal(err)
	}
	want := []metric.Point{
		{Measurement: "hello_glob", Tags: map[string]string{"pattern": logs}, Fields: map[string]any{"matches": 2.0}, Time: testNow},
		{Measurement: "hello_file", Tags: map[string]string{"path": filepath.Join(dir, "a.log")},
			Fields: map[string]any{"size_bytes": 10.0, "age_seconds": 60.0}, Time: testNow},
		{Measurement: "hello_file", Tags: map[string]string{"path": filepath.Join(dir, "b.log")},
			Fields: map[string]any{"size_bytes": 2048.0, "age_seconds": 7200.0}, Time: testNow},
		{Measurement: "hello_glob", Tags: map[string]string{"pattern": none}, Fields: map[string]any{"matches": 0.0}, Time: testNow},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("points (-want +got):\n%s", d)
	}
}

func TestFilesTooMany(t *testing.T) {
	dir := makeFiles(t, fixture{"a", 1, 0}, fixture{"b", 1, 0})
	g, err := newFiles(sdk.NewConfig(map[string]any{"paths": []string{filepath.Join(dir, "*")}, "max_files": 1}))
	if err != nil {
		t.Fatal(err)
	}
	got, err := gather(t, g)
	want := `pattern "` + filepath.Join(dir, "*") + `" matches 2 files, more than max_files (1): files not reported`
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	if d := cmp.Diff([]string{"hello_glob"}, measurements(got)); d != "" {
		t.Errorf("measurements (-want +got):\n%s", d)
	}
}

func TestFilesConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  map[string]any
		path []string
	}{
		{"no paths", map[string]any{"paths": []string{}, "max_files": 1}, []string{"paths"}},
		{"bad pattern", map[string]any{"paths": []string{"/tmp/[a"}, "max_files": 1}, []string{"paths"}},
		{"bad max", map[string]any{"paths": []string{"/tmp/*"}, "max_files": 0}, []string{"max_files"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newFiles(sdk.NewConfig(tc.cfg))
			d := sdk.AsDiagnostics(err)
			if len(d) != 1 {
				t.Fatalf("diagnostics %v, want one", err)
			}
			if diff := cmp.Diff(tc.path, d[0].Path); diff != "" {
				t.Errorf("path (-want +got):\n%s", diff)
			}
		})
	}
}

// gather runs g once at testNow and returns its points and errors.
func gather(t *testing.T, g sdk.Gatherer) ([]metric.Point, error) {
	t.Helper()
	var pts []metric.Point
	acc := sdk.NewAccumulator(sdk.DefaultBatchSize, testNow, func(b *metric.Batch) error {
		pts = append(pts, b.Points()...)
		return nil
	})
	if err := g.Gather(context.Background(), acc); err != nil {
		t.Fatal(err)
	}
	if err := acc.Flush(); err != nil {
		t.Fatal(err)
	}
	return pts, acc.Err()
}

func measurements(pts []metric.Point) []string {
	var out []string
	for _, p := range pts {
		out = append(out, p.Measurement)
	}
	return out
}
