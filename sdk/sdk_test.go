package sdk_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/sdk"
	"github.com/vigilmon/vigil/sdk/host"
	"github.com/vigilmon/vigil/sdk/metric"
	"github.com/vigilmon/vigil/sdk/sdktest"
)

func testManifest() sdk.Manifest {
	return sdk.Manifest{
		Name: "t", Version: "0.1.0",
		Collectors: []sdk.Collector{{
			Name:   "mixed",
			Schema: sdk.Schema{{Name: "host", Type: sdk.TypeString, Default: "h1"}},
			New: func(cfg sdk.Config) (sdk.Gatherer, error) {
				return sdk.GathererFunc(func(ctx context.Context, acc *sdk.Accumulator) error {
					t0 := time.Unix(100, 0)
					acc.AddFields("m", map[string]string{"host": cfg.String("host"), "empty": ""}, map[string]any{"f": 1.5, "i": 2, "u": uint64(3), "b": true, "s": "x", "nan": math.NaN()}, t0)
					acc.Series("fast", nil, "a", "b").Add(t0, 1, math.Inf(1))
					acc.AddError(errors.New("one device unreadable"))
					return nil
				}), nil
			},
		}},
		Promises: []sdk.Promise{{
			Name:   "p",
			Schema: sdk.Schema{{Name: "warn", Type: sdk.TypeNumber, Required: true}},
			New: func(cfg sdk.Config) (sdk.Checker, error) {
				if cfg.Float("warn") < 0 {
					return nil, sdk.AttributeError("warn", "Invalid threshold", "warn must be >= 0")
				}
				return sdk.CheckerFunc(func(context.Context) (sdk.Result, error) {
					max := 100.0
					return sdk.Result{Status: sdk.Warning, Message: "w", LongOutput: "l", Perfdata: []sdk.Perfdata{{Label: "x", Value: 1, Unit: "%", Warn: "80", Max: &max}}}, nil
				}), nil
			},
		}},
	}
}

func TestInProcessCollect(t *testing.T) {
	p := sdktest.Serve(t, testManifest())
	pts, err := p.Collect("mixed", nil)
	if err == nil || !strings.Contains(err.Error(), "one device unreadable") {
		t.Errorf("err = %v, want the AddError text", err)
	}
	want := []metric.Point{
		{Measurement: "m", Tags: map[string]string{"host": "h1"}, Fields: map[string]any{"f": 1.5, "i": int64(2), "u": uint64(3), "b": true, "s": "x"}, Time: time.Unix(100, 0)},
		{Measurement: "fast", Tags: map[string]string{}, Fields: map[string]any{"a": 1.0}, Time: time.Unix(100, 0)},
	}
	if d := cmp.Diff(want, pts); d != "" {
		t.Errorf("points (-want +got):\n%s", d)
	}
}

func TestInProcessCheck(t *testing.T) {
	p := sdktest.Serve(t, testManifest())
	r, err := p.Check("p", map[string]any{"warn": 1})
	if err != nil {
		t.Fatal(err)
	}
	max := 100.0
	want := sdk.Result{Status: sdk.Warning, Message: "w", LongOutput: "l", Perfdata: []sdk.Perfdata{{Label: "x", Value: 1, Unit: "%", Warn: "80", Max: &max}}}
	if d := cmp.Diff(want, r); d != "" {
		t.Errorf("result (-want +got):\n%s", d)
	}
	_, err = p.Check("p", map[string]any{"warn": -1})
	var diags sdk.Diagnostics
	if !errors.As(err, &diags) || len(diags) != 1 || diags[0].Path[0] != "warn" {
		t.Errorf("err = %#v, want one diagnostic on warn", err)
	}
	_, err = p.Check("p", map[string]any{"warn": "high"})
	if !errors.As(err, &diags) || diags[0].Summary != "Incorrect attribute value type" {
		t.Errorf("err = %v, want a type diagnostic", err)
	}
}

func TestAccumulatorFlushesFullBatches(t *testing.T) {
	var sizes []int
	acc := sdk.NewAccumulator(4, time.Unix(1, 0), func(b *metric.Batch) error {
		if err := b.Validate(); err != nil {
			t.Errorf("invalid batch: %v", err)
		}
		sizes = append(sizes, b.Len())
		return nil
	})
	s := acc.Series("m", map[string]string{"b": "2", "a": "1"}, "v")
	for i := 0; i < 10; i++ {
		s.Add(time.Time{}, float64(i))
	}
	if err := acc.Flush(); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]int{4, 4, 2}, sizes); d != "" {
		t.Errorf("batch sizes (-want +got):\n%s", d)
	}
	if acc.Sent() != 10 {
		t.Errorf("Sent = %d", acc.Sent())
	}
}

func TestManifestValidate(t *testing.T) {
	bad := sdk.Manifest{Name: "Bad Name", Version: "v1", Collectors: []sdk.Collector{{Name: "c"}, {Name: "c", New: func(sdk.Config) (sdk.Gatherer, error) { return nil, nil }, Schema: sdk.Schema{{Name: "x", Type: "int"}}}}}
	err := bad.Validate()
	var diags sdk.Diagnostics
	if !errors.As(err, &diags) {
		t.Fatalf("err = %v", err)
	}
	var got []string
	for _, d := range diags {
		got = append(got, d.Summary)
	}
	want := []string{"Invalid plugin name", "Invalid plugin version", "Method without constructor", "Duplicate method", "Invalid schema"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if err := testManifest().Validate(); err != nil {
		t.Errorf("valid manifest: %v", err)
	}
}

func TestBatchValidateRejectsMalformed(t *testing.T) {
	good := func() metric.Batch {
		return metric.Batch{
			Series:      []metric.Series{{Measurement: "m", Tags: []metric.Tag{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}}, Fields: []metric.Field{{Key: "v", Type: metric.Float}}}},
			PointSeries: []uint32{0}, Times: []int64{1}, Floats: []float64{1},
		}
	}
	cases := map[string]func(b *metric.Batch){
		"series index out of range": func(b *metric.Batch) { b.PointSeries[0] = 1 },
		"missing float":             func(b *metric.Batch) { b.Floats = nil },
		"extra timestamp":           func(b *metric.Batch) { b.Times = append(b.Times, 2) },
		"unsorted tags":             func(b *metric.Batch) { b.Series[0].Tags[0].Key = "c" },
		"empty tag value":           func(b *metric.Batch) { b.Series[0].Tags[0].Value = "" },
		"comment measurement":       func(b *metric.Batch) { b.Series[0].Measurement = "#m" },
		"unknown field type":        func(b *metric.Batch) { b.Series[0].Fields[0].Type = 9 },
	}
	g := good()
	if err := g.Validate(); err != nil {
		t.Fatalf("good batch: %v", err)
	}
	for name, mutate := range cases {
		b := good()
		mutate(&b)
		if err := b.Validate(); err == nil {
			t.Errorf("%s: Validate accepted it", name)
		}
	}
}

// New may return warnings only: the instance is kept and the warnings
// reach the host.
func TestWarningsDoNotRejectAnInstance(t *testing.T) {
	m := sdk.Manifest{Name: "w", Version: "0.1.0", Collectors: []sdk.Collector{{
		Name: "c",
		New: func(cfg sdk.Config) (sdk.Gatherer, error) {
			cfg.Logger().Debug("building") // a logger is always there
			g := sdk.GathererFunc(func(ctx context.Context, acc *sdk.Accumulator) error {
				acc.AddFields("m", nil, map[string]any{"v": 1.0}, time.Unix(1, 0))
				return nil
			})
			return g, sdk.Diagnostics{{Severity: sdk.SeverityWarning, Summary: "Deprecated", Path: []string{"x"}}}
		},
	}}}
	p := sdktest.Serve(t, m)
	diags, err := p.Configure(host.Collector, "c", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(diags) != 1 || diags[0].Severity != sdk.SeverityWarning || diags[0].Summary != "Deprecated" {
		t.Fatalf("diags = %+v", diags)
	}
	pts, err := p.Collect("c", nil)
	if err != nil || len(pts) != 1 {
		t.Fatalf("collect after a warning: %v %v", pts, err)
	}
}
