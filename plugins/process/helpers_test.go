package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/vigilmon/vigil/sdk"
	"github.com/vigilmon/vigil/sdk/metric"
)

var testTime = time.Unix(1700000000, 0)

func newCollector(values map[string]any) (sdk.Gatherer, error) {
	c := newManifest().Collectors[0]
	return c.New(c.Schema.WithDefaults(sdk.NewConfig(values)))
}

func newPromise(values map[string]any) (sdk.Checker, error) {
	p := newManifest().Promises[0]
	return p.New(p.Schema.WithDefaults(sdk.NewConfig(values)))
}

// fixture returns the collector for values over testdata/proc, with a
// 4096-byte page whatever this machine's.
func fixture(t *testing.T, values map[string]any) *processCollector {
	t.Helper()
	if _, ok := values["proc_root"]; !ok {
		values["proc_root"] = "testdata/proc"
	}
	g, err := newCollector(values)
	if err != nil {
		t.Fatal(err)
	}
	c := g.(*processCollector)
	c.pageSize = 4096
	return c
}

// gather runs one Gather and returns its points sorted by measurement,
// tags and pid, and the accumulated errors.
func gather(t *testing.T, g sdk.Gatherer) ([]metric.Point, error) {
	t.Helper()
	var pts []metric.Point
	acc := sdk.NewAccumulator(0, testTime, func(b *metric.Batch) error {
		if err := b.Validate(); err != nil {
			return err
		}
		pts = append(pts, b.Points()...)
		return nil
	})
	if err := g.Gather(context.Background(), acc); err != nil {
		t.Fatalf("Gather: %v", err)
	}
	if err := acc.Flush(); err != nil {
		t.Fatal(err)
	}
	key := func(p metric.Point) string {
		return fmt.Sprintf("%s %s %s %v", p.Measurement, p.Tags["pattern"], p.Tags["process_name"], p.Fields["pid"])
	}
	sort.SliceStable(pts, func(i, j int) bool { return key(pts[i]) < key(pts[j]) })
	return pts, acc.Err()
}

var approx = cmpopts.EquateApprox(0, 1e-9)

func diffPoints(t *testing.T, want, got []metric.Point) {
	t.Helper()
	if d := cmp.Diff(want, got, approx); d != "" {
		t.Errorf("points mismatch (-want +got):\n%s", d)
	}
}

func procPoint(name, pattern string, fields map[string]any) metric.Point {
	return metric.Point{Measurement: "process", Tags: map[string]string{"process_name": name, "pattern": pattern}, Fields: fields, Time: testTime}
}

func lookupPoint(pattern string, n int64) metric.Point {
	return metric.Point{Measurement: "procstat_lookup", Tags: map[string]string{"pattern": pattern}, Fields: map[string]any{"count": n}, Time: testTime}
}

// copyTree copies the fixture tree into a temporary directory the test
// may change.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "proc")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func assertAttrError(t *testing.T, err error, path string) {
	t.Helper()
	d := sdk.AsDiagnostics(err)
	if len(d) == 0 {
		t.Fatalf("got no error, want a diagnostic about %s", path)
	}
	if len(d[0].Path) == 0 || d[0].Path[0] != path {
		t.Fatalf("diagnostic path = %v (%v), want [%s ...]", d[0].Path, err, path)
	}
}
