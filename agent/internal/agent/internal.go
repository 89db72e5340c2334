package agent

import (
	"strings"
	"time"

	"github.com/vigilmon/vigil/sdk/metric"
)

// writeInternal emits the agent's own health as points:
//
//	vigil_plugin,plugin=P  up, restarts, start_failures, calls, call_errors, timeouts, call_time_ms
//	vigil_task,plugin=P,task=T  runs, failures, skipped
//	vigil_output,plugin=vigil,output=O  sent, failed, dropped, queued
//
// Per-plugin success and durations are metrics, not log lines.
func (r *running) writeInternal() {
	now := time.Now().UnixNano()
	for _, p := range r.set.plugins {
		h := p.sup.Health()
		var b metric.Builder
		_ = b.Add("vigil_plugin", nil, map[string]any{
			"up": boolInt(h.Up), "restarts": h.Restarts, "start_failures": h.StartFailures,
			"calls": h.Calls, "call_errors": h.CallErrors, "timeouts": h.Timeouts,
			"call_time_ms": float64(h.CallTime) / float64(time.Millisecond),
		}, now)
		r.write(p.cfg.Name, &b.Batch)
	}
	for _, name := range r.set.failed {
		var b metric.Builder
		_ = b.Add("vigil_plugin", nil, map[string]any{"up": int64(0), "start_failures": int64(1)}, now)
		r.write(name, &b.Batch)
	}
	if r.sched != nil {
		byPlugin := map[string]*metric.Builder{}
		for name, st := range r.sched.Stats() {
			plugin, task, _ := strings.Cut(name, "/")
			b := byPlugin[plugin]
			if b == nil {
				b = &metric.Builder{}
				byPlugin[plugin] = b
			}
			_ = b.Add("vigil_task", map[string]string{"task": task}, map[string]any{
				"runs": st.Runs, "failures": st.Failures, "skipped": st.Skipped,
			}, now)
		}
		for plugin, b := range byPlugin {
			r.write(plugin, &b.Batch)
		}
	}
	var b metric.Builder
	for name, st := range r.pipe.Stats() {
		_ = b.Add("vigil_output", map[string]string{"output": name}, map[string]any{
			"sent": st.Sent, "failed": st.Failed, "dropped": st.Dropped, "queued": st.Queued, "quarantined": st.Quarantined,
		}, now)
	}
	r.write("vigil", &b.Batch)
}

func (r *running) write(plugin string, b *metric.Batch) {
	if b.Len() == 0 {
		return
	}
	if err := r.pipe.Write(plugin, b); err != nil {
		r.log.Warn("writing internal metrics", "error", err)
	}
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
