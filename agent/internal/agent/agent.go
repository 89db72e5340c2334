package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"

	"github.com/vigilmon/vigil/agent/internal/pipeline"
	"github.com/vigilmon/vigil/agent/internal/promise"
	"github.com/vigilmon/vigil/agent/internal/scheduler"
	"github.com/vigilmon/vigil/hcl/agentconfig"
)

// ErrConfig means the configuration could not be used; the diagnostics
// were written to Options.Stderr.
var ErrConfig = errors.New("invalid configuration")

// ErrForced means a second signal cut the graceful shutdown short.
var ErrForced = errors.New("shutdown forced by a second signal")

// Options are what the CLI hands the agent.
type Options struct {
	ConfigPath string
	Log        hclog.Logger
	Stdout     io.Writer // the stdout output and --test write here
	Stderr     io.Writer // diagnostics are rendered here
	Color      bool
	Version    string // the agent's version, as the registry is told
}

// load reads the config and renders its diagnostics.
func load(opts Options) (*agentconfig.Config, error) {
	cfg, diags := agentconfig.Load(opts.ConfigPath)
	if len(diags) > 0 {
		agentconfig.WriteDiagnostics(opts.Stderr, cfg.Files, diags, opts.Color)
	}
	if diags.HasErrors() {
		return nil, ErrConfig
	}
	return cfg, nil
}

// running is a Set being scheduled into a pipeline.
type running struct {
	set   *Set
	pipe  *pipeline.Pipeline
	sched *scheduler.Scheduler
	log   hclog.Logger

	stopTicks  context.CancelFunc
	cancelRuns context.CancelFunc
	stopSups   context.CancelFunc
	sups       sync.WaitGroup
}

// pipelineMode says how outputs are built: a daemon spools the outputs
// configured with a spool; --once and --test never do (a daemon may hold
// the spool, and a one-shot run reports what it could not deliver).
type pipelineMode int

const (
	modeDaemon pipelineMode = iota
	modeOnce
	modeTest
)

func newPipeline(cfg *agentconfig.Config, opts Options, mode pipelineMode) (*pipeline.Pipeline, hcl.Diagnostics) {
	var outs []pipeline.Output
	var diags hcl.Diagnostics
	fail := func(o agentconfig.Output, summary string, err error) {
		r := o.DeclRange
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: err.Error(), Subject: &r})
	}
	log := opts.Log
	configured := cfg.Outputs
	if mode == modeTest {
		outs, configured = append(outs, pipeline.Stdout(opts.Stdout)), nil
	}
	for _, o := range configured {
		var out pipeline.Output
		switch o.Kind {
		case agentconfig.OutputStdout:
			out = pipeline.Stdout(opts.Stdout)
		case agentconfig.OutputFile:
			out = pipeline.File(o.Path)
		case agentconfig.OutputInfluxDB:
			in, err := pipeline.InfluxDB(pipeline.InfluxDBConfig{
				URL: o.URL, Database: o.Database, Username: o.Username, Password: o.Password, DisableGzip: !o.Gzip, Timeout: o.Timeout,
			})
			if err != nil {
				fail(o, "Invalid influxdb output", err)
				continue
			}
			out = in
		case agentconfig.OutputRegistry:
			r, err := pipeline.Registry(pipeline.RegistryConfig{
				URL: cfg.Registry.URL, Token: cfg.Registry.Token, Gzip: o.Gzip, Timeout: o.Timeout,
				UserAgent: "vigil-agent/" + opts.Version, Logger: log.Named("output").With("output", o.Kind),
			})
			if err != nil {
				fail(o, "Invalid registry output", err)
				continue
			}
			out = r
		}
		if o.Spool && mode == modeDaemon {
			sp, err := pipeline.Spooled(out, pipeline.SpoolConfig{
				Dir: filepath.Join(cfg.Agent.DataDir, "spool", o.Kind), MaxBytes: o.SpoolMaxBytes, Logger: log,
			})
			if err != nil {
				fail(o, "Cannot open the output's disk spool", err)
				continue
			}
			out = sp
		}
		outs = append(outs, out)
	}
	a := cfg.Agent
	return pipeline.New(pipeline.Config{Node: a.Node, Tags: a.Tags, BatchSize: a.BatchSize, FlushInterval: a.FlushInterval}, log.Named("pipeline"), outs...), diags
}

// pipelineKey is everything of a configuration its pipeline depends on:
// a reload with the same key keeps the running pipeline (and its spools).
type pipelineKey struct {
	Node          string
	Tags          map[string]string
	BatchSize     int
	FlushInterval time.Duration
	DataDir       string
	Registry      [2]string // url, token
	Outputs       []agentconfig.Output
}

func keyOf(cfg *agentconfig.Config) pipelineKey {
	k := pipelineKey{
		Node: cfg.Agent.Node, Tags: cfg.Agent.Tags, BatchSize: cfg.Agent.BatchSize,
		FlushInterval: cfg.Agent.FlushInterval, DataDir: cfg.Agent.DataDir,
	}
	if cfg.Registry != nil {
		k.Registry = [2]string{cfg.Registry.URL, cfg.Registry.Token}
	}
	for _, o := range cfg.Outputs {
		o.DeclRange = hcl.Range{}
		k.Outputs = append(k.Outputs, o)
	}
	return k
}

// prepare loads cfg into a Set and its pipeline without scheduling. On
// error everything it started is stopped.
func prepare(ctx context.Context, cfg *agentconfig.Config, socketDir string, opts Options, mode pipelineMode) (*Set, *pipeline.Pipeline, hcl.Diagnostics) {
	pipe, diags := newPipeline(cfg, opts, mode)
	if diags.HasErrors() {
		pipe.Close(context.Background())
		return nil, nil, diags
	}
	set, sdiags := buildSet(ctx, cfg, socketDir, opts.Log)
	return set, pipe, append(diags, sdiags...)
}

func start(set *Set, pipe *pipeline.Pipeline, log hclog.Logger) *running {
	r := &running{set: set, pipe: pipe, log: log}
	supCtx, stopSups := context.WithCancel(context.Background())
	r.stopSups = stopSups
	for _, p := range set.plugins {
		r.sups.Add(1)
		go func() { defer r.sups.Done(); p.sup.Run(supCtx) }()
	}
	tasks := set.tasks(pipe, promise.NoHistory{}, log)
	if set.cfg.Agent.InternalMetrics {
		tasks = append(tasks, r.internalTask())
	}
	r.sched = scheduler.New(tasks)
	tickCtx, stopTicks := context.WithCancel(context.Background())
	runCtx, cancelRuns := context.WithCancel(context.Background())
	r.stopTicks, r.cancelRuns = stopTicks, cancelRuns
	r.sched.Start(tickCtx, runCtx)
	return r
}

// shutdown stops in data-flow order within ctx's deadline: no new runs,
// in-flight runs finish (or are cancelled at the deadline), the pipeline
// drains to its outputs, then plugins stop.
func (r *running) shutdown(ctx context.Context) error { return r.stop(ctx, false) }

// stop is shutdown, leaving the pipeline running when keepPipe is set (a
// reload hands it to the next configuration).
func (r *running) stop(ctx context.Context, keepPipe bool) error {
	r.stopTicks()
	done := make(chan struct{})
	go func() { r.sched.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		r.log.Warn("shutdown deadline reached; cancelling running collections")
		r.cancelRuns()
		<-done
	}
	r.cancelRuns()
	var err error
	if !keepPipe {
		err = r.pipe.Close(ctx)
	}
	r.stopSups()
	r.sups.Wait()
	return err
}

// Daemon runs the agent until ctx ends or a SIGINT/SIGTERM arrives on sigs;
// SIGHUP reloads. A second SIGINT/SIGTERM during shutdown forces it.
func Daemon(ctx context.Context, opts Options, sigs <-chan os.Signal) error {
	cfg, err := load(opts)
	if err != nil {
		return err
	}
	socketDir, diags := prepareSocketDir(cfg.Agent.DataDir)
	if diags.HasErrors() {
		agentconfig.WriteDiagnostics(opts.Stderr, cfg.Files, diags, opts.Color)
		return ErrConfig
	}
	set, pipe, diags := prepare(ctx, cfg, socketDir, opts, modeDaemon)
	if len(diags) > 0 {
		agentconfig.WriteDiagnostics(opts.Stderr, cfg.Files, diags, opts.Color)
	}
	if set == nil {
		return ErrConfig
	}
	if diags.HasErrors() {
		// Plugins that failed are reported and left out; the rest run.
		opts.Log.Error("some plugins are not running; fix the configuration and send SIGHUP", "plugins", strings.Join(set.failed, ","))
	}
	if err := writePIDFile(cfg.Agent.DataDir); err != nil {
		opts.Log.Warn("cannot write the pid file; `vigil install` will not be able to signal a reload", "error", err)
	}
	defer removePIDFile(cfg.Agent.DataDir)
	r := start(set, pipe, opts.Log)
	gen := int64(1)
	report := func(reloadErr string, s *Set) {
		if err := writeStatus(cfg.Agent.DataDir, Status{Generation: gen, ReloadError: reloadErr, Plugins: s.states()}); err != nil {
			opts.Log.Warn("cannot write the status file", "error", err)
		}
	}
	report("", set)
	defer os.Remove(filepath.Join(cfg.Agent.DataDir, StatusFileName))
	ann := newAnnouncer(cfg, opts.Log)
	annCtx, stopAnn := context.WithCancel(context.Background())
	defer stopAnn()
	go ann.run(annCtx)
	ann.announce(set.inventory(opts.Version))
	opts.Log.Info("agent started", "node", cfg.Agent.Node, "plugins", len(set.plugins), "promises", len(cfg.Promises))
	for {
		var sig os.Signal
		select {
		case <-ctx.Done():
		case sig = <-sigs:
		}
		if sig == syscall.SIGHUP {
			var why string
			var err error
			r, why, err = reload(ctx, r, socketDir, opts)
			if err != nil {
				return err
			}
			gen++
			report(why, r.set)
			ann.announce(r.set.inventory(opts.Version))
			continue
		}
		opts.Log.Info("shutting down", "signal", sig, "deadline", cfg.Agent.ShutdownTimeout)
		sctx, cancel := context.WithTimeout(context.Background(), cfg.Agent.ShutdownTimeout)
		done := make(chan error, 1)
		go func() { done <- r.shutdown(sctx) }()
		select {
		case err := <-done:
			cancel()
			opts.Log.Info("agent stopped")
			return err
		case <-sigs:
			cancel()
			// Don't wait for anything: cancel the runs and stop the
			// plugins' supervisors (each kills its plugin) on the way out.
			r.stopTicks()
			r.cancelRuns()
			r.stopSups()
			return ErrForced
		}
	}
}

// reload builds the new configuration's Set next to the running one. Only
// if the new config is valid and every plugin started and accepted its
// configuration does it replace the old; otherwise the old keeps running.
// The pipeline (with its disk spools) is kept when the new configuration
// leaves it unchanged; otherwise the old one drains and closes before the
// new one opens the spools. If the new outputs then cannot be opened (a
// spool directory gone unwritable), the error stops the daemon: the old
// configuration is already stopped.
func reload(ctx context.Context, old *running, socketDir string, opts Options) (*running, string, error) {
	opts.Log.Info("reloading configuration", "path", opts.ConfigPath)
	cfg, err := load(opts)
	if err != nil {
		opts.Log.Error("reload rejected: the new configuration is invalid; the previous one keeps running")
		return old, "the new configuration is invalid (see the agent's log); the previous one keeps running", nil
	}
	set, diags := buildSet(ctx, cfg, socketDir, opts.Log)
	if len(diags) > 0 {
		agentconfig.WriteDiagnostics(opts.Stderr, cfg.Files, diags, opts.Color)
	}
	if diags.HasErrors() {
		if set != nil {
			set.stop()
		}
		opts.Log.Error("reload rejected: the new plugin set did not validate; the previous one keeps running")
		return old, "the new plugin set did not validate: " + firstError(diags) + "; the previous configuration keeps running", nil
	}
	keep := reflect.DeepEqual(keyOf(old.set.cfg), keyOf(cfg))
	sctx, cancel := context.WithTimeout(context.Background(), old.set.cfg.Agent.ShutdownTimeout)
	defer cancel()
	if err := old.stop(sctx, keep); err != nil {
		opts.Log.Warn("draining the previous configuration", "error", err)
	}
	pipe := old.pipe
	if !keep {
		var pdiags hcl.Diagnostics
		pipe, pdiags = newPipeline(cfg, opts, modeDaemon)
		if pdiags.HasErrors() {
			agentconfig.WriteDiagnostics(opts.Stderr, cfg.Files, pdiags, opts.Color)
			set.stop()
			pipe.Close(context.Background())
			return nil, "", fmt.Errorf("opening the new configuration's outputs: %s", firstError(pdiags))
		}
	}
	opts.Log.Info("configuration reloaded", "plugins", len(set.plugins), "outputs_reopened", !keep)
	return start(set, pipe, opts.Log), "", nil
}

// firstError is the first error diagnostic, for one-line reports.
func firstError(diags hcl.Diagnostics) string {
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			if d.Subject != nil {
				return fmt.Sprintf("%s:%d: %s: %s", d.Subject.Filename, d.Subject.Start.Line, d.Summary, d.Detail)
			}
			return d.Summary + ": " + d.Detail
		}
	}
	return "unknown error"
}

// Once gathers every collector and promise once, flushes the outputs and
// stops. With test set, points go to stdout only and nothing is sent. The
// error lists everything that failed.
func Once(ctx context.Context, opts Options, test bool) error {
	cfg, err := load(opts)
	if err != nil {
		return err
	}
	// A private socket dir: a daemon may be running on the same data dir.
	socketDir, cleanup, diags := tempSocketDir()
	if diags.HasErrors() {
		agentconfig.WriteDiagnostics(opts.Stderr, cfg.Files, diags, opts.Color)
		return ErrConfig
	}
	defer cleanup()
	mode := modeOnce
	if test {
		mode = modeTest
	}
	set, pipe, diags := prepare(ctx, cfg, socketDir, opts, mode)
	if len(diags) > 0 {
		agentconfig.WriteDiagnostics(opts.Stderr, cfg.Files, diags, opts.Color)
	}
	if set == nil {
		return ErrConfig
	}
	defer set.stop()
	var errs []error
	for _, name := range set.failed {
		errs = append(errs, fmt.Errorf("plugin %s did not start", name))
	}
	r := &running{set: set, pipe: pipe, log: opts.Log}
	runErrs := scheduler.RunOnce(ctx, set.tasks(pipe, promise.NoHistory{}, opts.Log))
	for name, err := range runErrs {
		errs = append(errs, fmt.Errorf("%s: %w", name, err))
	}
	if !test && cfg.Agent.InternalMetrics {
		r.writeInternal()
	}
	if err := pipe.Flush(ctx); err != nil {
		errs = append(errs, err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Agent.ShutdownTimeout)
	defer cancel()
	if err := pipe.Close(sctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// internalTask emits the agent's own health as metrics at the agent interval.
func (r *running) internalTask() scheduler.Task {
	iv := r.set.cfg.Agent.Interval
	return scheduler.Task{Name: "vigil/internal", Interval: iv, Jitter: iv / 10, Run: func(context.Context) error {
		r.writeInternal()
		return nil
	}}
}
