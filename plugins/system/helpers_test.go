package main

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/vigilmon/vigil/sdk"
	"github.com/vigilmon/vigil/sdk/metric"
)

// testTime is the time of every test gather.
var testTime = time.Unix(1700000000, 0)

// approx compares floats computed in different orders.
var approx = cmpopts.EquateApprox(0, 1e-9)

// newCollector builds the named collector of the manifest from values,
// with the schema's defaults applied as the host would.
func newCollector(t *testing.T, name string, values map[string]any) (sdk.Gatherer, error) {
	t.Helper()
	m := newManifest()
	for _, c := range m.Collectors {
		if c.Name == name {
			return c.New(c.Schema.WithDefaults(sdk.NewConfig(values)))
		}
	}
	t.Fatalf("manifest has no collector %q", name)
	return nil, nil
}

// mustCollector is newCollector that fails the test on error.
func mustCollector(t *testing.T, name string, values map[string]any) sdk.Gatherer {
	t.Helper()
	g, err := newCollector(t, name, values)
	if err != nil {
		t.Fatalf("configuring %s: %v", name, err)
	}
	return g
}

// gather runs one Gather and returns its points sorted by measurement and
// tags, and the errors recorded in the accumulator.
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
		t.Fatalf("Flush: %v", err)
	}
	sortPoints(pts)
	return pts, acc.Err()
}

func sortPoints(pts []metric.Point) {
	key := func(p metric.Point) string {
		keys := make([]string, 0, len(p.Tags))
		for k := range p.Tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		s := p.Measurement
		for _, k := range keys {
			s += fmt.Sprintf(",%s=%s", k, p.Tags[k])
		}
		return s
	}
	sort.SliceStable(pts, func(i, j int) bool { return key(pts[i]) < key(pts[j]) })
}

// point builds an expected point at testTime.
func point(measurement string, tags map[string]string, fields map[string]any) metric.Point {
	if tags == nil {
		tags = map[string]string{}
	}
	return metric.Point{Measurement: measurement, Tags: tags, Fields: fields, Time: testTime}
}

func diffPoints(t *testing.T, want, got []metric.Point) {
	t.Helper()
	if d := cmp.Diff(want, got, approx); d != "" {
		t.Errorf("points mismatch (-want +got):\n%s", d)
	}
}

// errCanceled is what a cancelled gather wraps.
var errCanceled = context.Canceled

// cancelled returns a context that is already done.
func cancelled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
