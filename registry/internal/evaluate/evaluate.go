package evaluate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/vigilmon/vigil/sdk/host"
	"github.com/vigilmon/vigil/sdk/release"
)

// Config sets up an Evaluator. A zero field takes its default.
type Config struct {
	// WorkDir is where archives are unpacked, each evaluation in a fresh
	// temporary directory removed when it ends; default: the system temp dir.
	WorkDir string
	// Timeout bounds a whole evaluation; default 2m.
	Timeout time.Duration
	// MethodTimeout bounds each call to the plugin: the handshake, and the
	// configure, collect and check calls of every method; default 10s.
	MethodTimeout time.Duration
	// Limits bound what one archive may unpack to.
	Limits release.Limits
	// Logger receives the evaluator's and the plugin's log lines; default: discard.
	Logger hclog.Logger
}

// Defaults of Config.
const (
	DefaultTimeout       = 2 * time.Minute
	DefaultMethodTimeout = 10 * time.Second
)

// Evaluator evaluates releases. It is safe for concurrent use: each
// evaluation has its own directories and plugin process.
type Evaluator struct{ cfg Config }

// New returns an Evaluator; cfg is copied with its defaults applied.
func New(cfg Config) *Evaluator {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MethodTimeout <= 0 {
		cfg.MethodTimeout = DefaultMethodTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	return &Evaluator{cfg: cfg}
}

// Evaluate runs the checks on in, in order, stopping after the first one
// that fails and makes the rest meaningless (a method that fails does not
// stop the other methods' checks). It always returns a report, never
// panics, and before returning it kills the plugin process and removes
// every file it made, also when ctx is canceled or the evaluation times out.
func (e *Evaluator) Evaluate(ctx context.Context, in Input) (rep Report) {
	ev := &evaluation{cfg: e.cfg, in: in, log: e.cfg.Logger.Named("evaluate").With("plugin", in.Plugin, "version", in.Version)}
	rep.Started = time.Now()
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			ev.log.Error("evaluator panicked", "panic", p, "stack", string(debug.Stack()))
			ev.checks = append(ev.checks, Check{Name: "evaluator", Detail: "the evaluator failed unexpectedly; this is a bug in the registry, not in the release: ask the registry admin to evaluate it again"})
		}
		ev.cleanup()
		rep.Finished = time.Now()
		rep.Checks = ev.checks
		rep.Platforms = ev.platforms
		rep.ProtocolVersion = ev.proto
		rep.Manifest = ev.manifest
		rep.Passed = len(ev.checks) > 0
		for _, c := range ev.checks {
			rep.Passed = rep.Passed && c.Passed
		}
		ev.log.Debug("evaluated release", "passed", rep.Passed, "duration", rep.Finished.Sub(rep.Started))
	}()
	ev.run(ctx)
	return rep
}

// evaluation is the state of one Evaluate call.
type evaluation struct {
	cfg    Config
	in     Input
	log    hclog.Logger
	checks []Check

	work    string       // this evaluation's directory under cfg.WorkDir
	sockets string       // the plugin's private socket directory
	plugin  *host.Plugin // the running plugin, if launched

	platforms []string
	proto     int
	manifest  json.RawMessage
}

// run performs the checks in order.
func (ev *evaluation) run(ctx context.Context) {
	sums, ok := ev.verifySums(ctx)
	if !ok {
		return
	}
	bins, ok := ev.archives(ctx, sums)
	if !ok {
		return
	}
	bin, ok := ev.hostBinary(bins)
	if !ok {
		return
	}
	info, ok := ev.launch(ctx, bin)
	if !ok {
		return
	}
	if !ev.checkManifest(info) {
		return
	}
	ev.methods(ctx, info)
}

// step runs fn as the check called name and records it; fn returns the
// detail of a pass or the error that explains a failure. It reports
// whether the check passed.
func (ev *evaluation) step(ctx context.Context, name string, fn func() (string, error)) bool {
	start := time.Now()
	detail, err := fn()
	c := Check{Name: name, Passed: err == nil, Detail: detail}
	if err != nil {
		c.Detail = ev.explain(ctx, err)
	}
	c.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	ev.checks = append(ev.checks, c)
	return c.Passed
}

// explain turns a check's error into its detail, telling an interrupted
// or timed-out evaluation in those words.
func (ev *evaluation) explain(ctx context.Context, err error) string {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Sprintf("the evaluation took longer than its limit of %s and was stopped here; a release is expected to be evaluated well within it", ev.cfg.Timeout)
	case ctx.Err() != nil:
		return "the evaluation was interrupted (the registry is shutting down or the release was deleted); it will have to run again"
	}
	return err.Error()
}

// cleanup kills the plugin and removes the evaluation's directories.
func (ev *evaluation) cleanup() {
	if ev.plugin != nil {
		ev.plugin.Close()
	}
	for _, dir := range []string{ev.sockets, ev.work} {
		if dir == "" {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			ev.log.Error("removing evaluation directory", "path", dir, "error", err)
		}
	}
}
