package promise

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/sdk"
	"github.com/vigilmon/vigil/sdk/metric"
)

func TestAppendPoints(t *testing.T) {
	max := 10.0
	r := Result{
		ID: "load", Plugin: ExecPlugin, Status: sdk.Warning, Message: "LOAD WARNING", LongOutput: "more",
		Perfdata: []sdk.Perfdata{
			{Label: "load1", Value: 3.13, Warn: "5.000", Crit: "10.000", Max: &max},
			{Label: "x", Unknown: true},
			{Label: "time", Value: 0.5, Unit: "s"},
		},
		Start: time.Unix(1700000000, 0), Duration: 1500 * time.Microsecond,
	}
	var b metric.Builder
	if err := AppendPoints(&b, r); err != nil {
		t.Fatal(err)
	}
	ts := time.Unix(1700000000, 0)
	want := []metric.Point{
		{Measurement: "promise", Tags: map[string]string{"promise": "load"}, Time: ts,
			Fields: map[string]any{"status": int64(1), "message": "LOAD WARNING", "long_output": "more", "duration_ms": 1.5, "anomaly": false}},
		{Measurement: "perfdata", Tags: map[string]string{"promise": "load", "label": "load1"}, Time: ts,
			Fields: map[string]any{"value": 3.13, "warn": "5.000", "crit": "10.000", "max": 10.0}},
		{Measurement: "perfdata", Tags: map[string]string{"promise": "load", "label": "time", "unit": "s"}, Time: ts,
			Fields: map[string]any{"value": 0.5}},
	}
	if d := cmp.Diff(want, b.Batch.Points()); d != "" {
		t.Errorf("points (-want +got):\n%s", d)
	}
}
