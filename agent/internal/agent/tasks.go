package agent

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/vigilmon/vigil/agent/internal/execpromise"
	"github.com/vigilmon/vigil/agent/internal/promise"
	"github.com/vigilmon/vigil/agent/internal/scheduler"
	"github.com/vigilmon/vigil/hcl/agentconfig"
	"github.com/vigilmon/vigil/sdk"
	"github.com/vigilmon/vigil/sdk/metric"
)

// sink is where tasks put points: the pipeline.
type sink interface {
	Write(plugin string, b *metric.Batch) error
}

// tasks returns the scheduler tasks of the set: one per collector
// instance, plugin promise and executable promise.
func (s *Set) tasks(out sink, rec promise.Recorder, log hclog.Logger) []scheduler.Task {
	a := s.cfg.Agent
	jitter := func(interval time.Duration) time.Duration {
		if a.Jitter > 0 {
			return a.Jitter
		}
		return interval / 10
	}
	var tasks []scheduler.Task
	for _, p := range s.plugins {
		for _, in := range p.collectors {
			interval, timeout := p.cfg.CollectorTiming(in.Method)
			tasks = append(tasks, scheduler.Task{
				Name: p.cfg.Name + "/" + in.ID, Interval: interval, Jitter: jitter(interval),
				Run: func(ctx context.Context) error {
					ctx, cancel := callContext(ctx, timeout, p.cfg.Timeout)
					defer cancel()
					err := p.sup.Collect(ctx, in.ID, a.BatchSize, func(b *metric.Batch) error {
						return out.Write(p.cfg.Name, b)
					})
					if err != nil {
						log.Error("collect failed", "plugin", p.cfg.Name, "collector", in.Method, "error", err)
					}
					return err
				},
			})
		}
		for _, pi := range p.promises {
			interval := pi.cfg.Interval
			tasks = append(tasks, scheduler.Task{
				Name: p.cfg.Name + "/" + pi.ID, Interval: interval, Jitter: jitter(interval),
				Run: func(ctx context.Context) error {
					start := time.Now()
					cctx, cancel := callContext(ctx, pi.cfg.Timeout, p.cfg.Timeout)
					defer cancel()
					res, err := p.sup.Check(cctx, pi.ID)
					r := promise.Result{ID: pi.cfg.ID, Plugin: p.cfg.Name, Start: start, Duration: time.Since(start),
						Status: res.Status, Message: res.Message, LongOutput: res.LongOutput, Perfdata: res.Perfdata}
					if err != nil {
						// G.4: a plugin that errored or died reports UNKNOWN with the error text.
						r.Status, r.Message = sdk.Unknown, "Error: "+err.Error()
						log.Error("promise check failed", "plugin", p.cfg.Name, "promise", pi.cfg.ID, "error", err)
					}
					if werr := writeResult(ctx, out, rec, r); werr != nil {
						return werr
					}
					return err
				},
			})
		}
	}
	for _, ep := range s.cfg.Promises {
		tasks = append(tasks, scheduler.Task{
			Name: promise.ExecPlugin + "/" + ep.ID, Interval: ep.Interval, Jitter: jitter(ep.Interval),
			Run: func(ctx context.Context) error {
				run := execpromise.Run(ctx, execSpec(ep))
				// The record's message is what G.4 says users see (the
				// summary, or "Error: ..." for timeouts and the like, then
				// the long output): its first line is the point's message.
				msg, long, _ := strings.Cut(run.Message, "\n")
				r := promise.Result{ID: ep.ID, Plugin: promise.ExecPlugin, Status: run.Status, Message: msg, LongOutput: long,
					Perfdata: run.Perfdata, Start: run.Start, Duration: run.Duration}
				return writeResult(ctx, out, rec, r)
			},
		})
	}
	return tasks
}

// callContext bounds a call by a method's own timeout when it is shorter
// than its plugin's: that ends the call alone. The plugin's timeout is
// the supervisor's, the one that declares the plugin hung and restarts it,
// so it must not be pre-empted by an equal deadline here.
func callContext(ctx context.Context, own, plugin time.Duration) (context.Context, context.CancelFunc) {
	if own > 0 && own < plugin {
		return context.WithTimeout(ctx, own)
	}
	return context.WithCancel(ctx)
}

func execSpec(ep agentconfig.ExecPromise) execpromise.Spec {
	return execpromise.Spec{ID: ep.ID, Command: ep.Command, Timeout: ep.Timeout, ExitCodes: ep.ExitCodes, Env: ep.Env}
}

func writeResult(ctx context.Context, out sink, rec promise.Recorder, r promise.Result) error {
	r = rec.Record(ctx, r)
	var b metric.Builder
	if err := promise.AppendPoints(&b, r); err != nil {
		return fmt.Errorf("promise %s: %w", r.ID, err)
	}
	return out.Write(r.Plugin, &b.Batch)
}
