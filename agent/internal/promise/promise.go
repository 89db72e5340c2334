// Package promise turns promise outcomes — from executable promises and
// from plugin checks alike — into the points the pipeline ships:
// measurement "promise" (tags promise, plugin; fields status, message,
// duration_ms, anomaly) and one "perfdata" point per perfdata item.
//
// History, anomaly windows, flapping and bang belong to the promise engine
// (a later piece); it plugs in as a Recorder between a result and its
// points. Until then NoHistory passes results through unchanged.
package promise

import (
	"context"
	"time"

	"github.com/vigilmon/vigil/sdk"
	"github.com/vigilmon/vigil/sdk/metric"
)

// ExecPlugin is the plugin tag of executable promises.
const ExecPlugin = "exec"

// Result is one promise run's outcome.
type Result struct {
	ID         string
	Plugin     string // the plugin that checked it, or ExecPlugin
	Status     sdk.Status
	Message    string
	LongOutput string
	Perfdata   []sdk.Perfdata
	Start      time.Time
	Duration   time.Duration
	// Anomaly is set by the promise engine when the anomaly window fails.
	Anomaly bool
}

// Recorder sees every result before it is shipped and may annotate it
// (anomaly, tolerated failures). The promise engine implements it.
type Recorder interface {
	Record(ctx context.Context, r Result) Result
}

// NoHistory is the Recorder used until the promise engine exists: it keeps
// nothing and changes nothing.
type NoHistory struct{}

// Record returns r unchanged.
func (NoHistory) Record(_ context.Context, r Result) Result { return r }

// AppendPoints adds r's points to b.
func AppendPoints(b *metric.Builder, r Result) error {
	t := r.Start.UnixNano()
	fields := map[string]any{
		"status":      int64(r.Status),
		"message":     r.Message,
		"duration_ms": float64(r.Duration) / float64(time.Millisecond),
		"anomaly":     r.Anomaly,
	}
	if r.LongOutput != "" {
		fields["long_output"] = r.LongOutput
	}
	if err := b.Add("promise", map[string]string{"promise": r.ID}, fields, t); err != nil {
		return err
	}
	for _, p := range r.Perfdata {
		if p.Unknown {
			continue
		}
		f := map[string]any{"value": p.Value}
		if p.Min != nil {
			f["min"] = *p.Min
		}
		if p.Max != nil {
			f["max"] = *p.Max
		}
		if p.Warn != "" {
			f["warn"] = p.Warn
		}
		if p.Crit != "" {
			f["crit"] = p.Crit
		}
		tags := map[string]string{"promise": r.ID, "label": p.Label, "unit": p.Unit}
		if err := b.Add("perfdata", tags, f, t); err != nil {
			return err
		}
	}
	return nil
}
