package supervisor

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/vigilmon/vigil/sdk"
	"github.com/vigilmon/vigil/sdk/host"
	"github.com/vigilmon/vigil/sdk/metric"
)

// ErrDown is returned by calls made while the plugin is not running
// (starting, backing off before a restart, or stopped).
var ErrDown = errors.New("plugin is not running")

// Spec says what to run.
type Spec struct {
	Name     string
	Version  string
	Path     string
	SHA256   []byte // from the lock file; the binary never runs if it differs
	AutoMTLS bool
	// SocketDir is the agent's short socket directory.
	SocketDir string
	// CallTimeout bounds each Collect and Check; a call that outlives it
	// means the plugin hangs, and it is killed and restarted. Default 30s.
	CallTimeout time.Duration
	// BackoffMin and BackoffMax bound the restart delay (defaults 500ms, 1m).
	BackoffMin, BackoffMax time.Duration
	// StableAfter is how long a plugin must stay up for the backoff to
	// reset (default 1m).
	StableAfter time.Duration
}

func (s Spec) withDefaults() Spec {
	if s.CallTimeout <= 0 {
		s.CallTimeout = 30 * time.Second
	}
	if s.BackoffMin <= 0 {
		s.BackoffMin = 500 * time.Millisecond
	}
	if s.BackoffMax <= 0 {
		s.BackoffMax = time.Minute
	}
	if s.StableAfter <= 0 {
		s.StableAfter = time.Minute
	}
	return s
}

// Health is a snapshot of a supervised plugin's state.
type Health struct {
	Up            bool
	Restarts      int64 // launches after the first
	StartFailures int64
	Calls         int64
	CallErrors    int64
	Timeouts      int64
	CallTime      time.Duration // total time spent in calls
	LastError     string
}

// Supervisor runs one plugin.
type Supervisor struct {
	spec    Spec
	log     hclog.Logger // the supervisor's own lines, with the plugin's name
	pluginL hclog.Logger // the plugin's stderr, re-levelled by go-plugin

	mu        sync.RWMutex
	p         *host.Plugin
	instances []host.Instance
	health    Health
	launches  int64
	stopped   bool          // Stop was called: nothing is (re)started any more
	changed   chan struct{} // closed and replaced when the plugin comes up or goes down

	// jitter picks the wait before a restart, at most bound; tests wrap it
	// to see the bounds Run uses.
	jitter func(bound time.Duration) time.Duration
}

// New returns a Supervisor; nothing runs until Start.
func New(spec Spec, log hclog.Logger) *Supervisor {
	return &Supervisor{
		spec: spec.withDefaults(), log: log.With("plugin", spec.Name), pluginL: log.ResetNamed("plugin"),
		changed: make(chan struct{}), jitter: fullJitter,
	}
}

// fullJitter returns a random wait in [1ns, bound]: restarts of many
// plugins that died together (a host under pressure) spread out instead
// of stampeding.
func fullJitter(bound time.Duration) time.Duration {
	return time.Duration(rand.Int64N(int64(bound))) + 1
}

// Start launches the plugin once and returns what it declared, so the
// agent can validate configuration against its schemas before Configure.
// Start does not retry: a plugin that cannot start here is reported to
// the operator instead of being retried silently.
func (s *Supervisor) Start(ctx context.Context) (host.Info, error) {
	if s.isStopped() {
		return host.Info{}, fmt.Errorf("plugin %s was stopped: %w", s.spec.Name, ErrDown)
	}
	p, err := s.launch(ctx)
	if err == nil {
		if err = checkIdentity(p.Info(), s.spec); err != nil {
			p.Close()
		}
	}
	if err != nil {
		s.recordStartFailure(err)
		return host.Info{}, err
	}
	if !s.setPlugin(p) {
		p.Close()
		return host.Info{}, fmt.Errorf("plugin %s: %w", s.spec.Name, ErrDown)
	}
	return p.Info(), nil
}

func checkIdentity(info host.Info, spec Spec) error {
	if info.Name != spec.Name {
		return fmt.Errorf("plugin binary %s says it is %q, not %q", spec.Path, info.Name, spec.Name)
	}
	if spec.Version != "" && info.Version != spec.Version {
		return fmt.Errorf("plugin binary %s says it is version %s, but version %s is configured", spec.Path, info.Version, spec.Version)
	}
	return nil
}

func (s *Supervisor) launch(ctx context.Context) (*host.Plugin, error) {
	s.mu.Lock()
	s.launches++
	s.mu.Unlock()
	return host.Launch(ctx, host.Config{
		Name:      s.spec.Name,
		Path:      s.spec.Path,
		SHA256:    s.spec.SHA256,
		AutoMTLS:  s.spec.AutoMTLS,
		SocketDir: s.spec.SocketDir,
		Logger:    s.pluginL,
		Stdout:    stdoutLogger{s.log},
	})
}

// setPlugin makes p the current plugin (nil: down). It refuses a new
// plugin after Stop, and reports whether p was taken.
func (s *Supervisor) setPlugin(p *host.Plugin) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p != nil && s.stopped {
		return false
	}
	if s.p == p {
		return true
	}
	s.p = p
	s.health.Up = p != nil
	close(s.changed)
	s.changed = make(chan struct{})
	return true
}

// Configure hands the plugin its instances and remembers them for
// restarts. Diagnostics with error severity mean nothing was changed. Like
// every call it is bounded by the call timeout.
func (s *Supervisor) Configure(ctx context.Context, instances []host.Instance) ([]host.Diagnostic, error) {
	p := s.current()
	if p == nil {
		return nil, fmt.Errorf("plugin %s: %w", s.spec.Name, ErrDown)
	}
	cctx, cancel := context.WithTimeout(ctx, s.spec.CallTimeout)
	defer cancel()
	diags, err := p.Configure(cctx, instances)
	if err != nil {
		return nil, err
	}
	for _, d := range diags {
		if d.Severity == sdk.SeverityError {
			return diags, nil
		}
	}
	s.mu.Lock()
	s.instances = instances
	s.mu.Unlock()
	return diags, nil
}

func (s *Supervisor) current() *host.Plugin {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.p
}

// Info returns what the plugin declared at its last launch.
func (s *Supervisor) Info() (host.Info, bool) {
	p := s.current()
	if p == nil {
		return host.Info{}, false
	}
	return p.Info(), true
}

// Run keeps the plugin alive until ctx ends, then stops it, and returns
// once the process is gone. It also returns after Stop. Call it after
// Start and Configure.
func (s *Supervisor) Run(ctx context.Context) {
	backoff := s.spec.BackoffMin
	for {
		p := s.current()
		if p != nil {
			up := time.Now()
			select {
			case <-ctx.Done():
				s.setPlugin(nil) // calls fail fast from now on
				p.Close()
				return
			case <-p.Exited():
			}
			s.setPlugin(nil)
			if s.isStopped() {
				return
			}
			s.recordError(fmt.Errorf("plugin process exited"))
			s.log.Warn("plugin exited; restarting", "uptime", time.Since(up).Round(time.Millisecond))
			if time.Since(up) >= s.spec.StableAfter {
				backoff = s.spec.BackoffMin
			}
		}
		if s.isStopped() {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.jitter(backoff)):
		}
		backoff = min(backoff*2, s.spec.BackoffMax)
		p, err := s.restart(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return // shutting down, not a failure of the plugin
			}
			s.recordStartFailure(err)
			s.log.Error("restarting plugin failed", "error", err, "retry_within", backoff)
			continue
		}
		if !s.setPlugin(p) { // stopped while restarting
			p.Close()
			return
		}
		s.mu.Lock()
		s.health.Restarts++
		s.mu.Unlock()
		s.log.Info("plugin restarted")
	}
}

func (s *Supervisor) isStopped() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.stopped
}

// restart launches, checks and configures a new process with the
// instances last accepted; the caller makes it current.
func (s *Supervisor) restart(ctx context.Context) (*host.Plugin, error) {
	p, err := s.launch(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkIdentity(p.Info(), s.spec); err != nil {
		p.Close()
		return nil, err
	}
	s.mu.RLock()
	instances := s.instances
	s.mu.RUnlock()
	cctx, cancel := context.WithTimeout(ctx, s.spec.CallTimeout)
	defer cancel()
	diags, err := p.Configure(cctx, instances)
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("configuring restarted plugin: %w", err)
	}
	for _, d := range diags {
		if d.Severity == sdk.SeverityError {
			p.Close()
			return nil, fmt.Errorf("restarted plugin rejected its configuration: %s", d.Summary)
		}
	}
	return p, nil
}

func (s *Supervisor) recordStartFailure(err error) {
	s.mu.Lock()
	s.health.StartFailures++
	s.health.LastError = err.Error()
	s.mu.Unlock()
}

func (s *Supervisor) recordError(err error) {
	s.mu.Lock()
	s.health.LastError = err.Error()
	s.mu.Unlock()
}

// Health returns a snapshot of the plugin's health.
func (s *Supervisor) Health() Health {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.health
}

// Launches counts launch attempts, for tests.
func (s *Supervisor) Launches() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.launches
}

// Changed returns a channel closed at the next up/down transition.
func (s *Supervisor) Changed() <-chan struct{} {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.changed
}

// call runs fn against the current plugin with the call timeout, records
// health, and kills a plugin that hangs.
func (s *Supervisor) call(ctx context.Context, fn func(ctx context.Context, p *host.Plugin) error) error {
	p := s.current()
	if p == nil {
		return fmt.Errorf("%s: %w", s.spec.Name, ErrDown)
	}
	start := time.Now()
	deadline := start.Add(s.spec.CallTimeout)
	cctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	err := fn(cctx, p)
	d := time.Since(start)
	// A hang is our deadline passing, not the caller's (which may come
	// first). It is read on the clock too: the plugin's side of the call
	// can time out, and say so, before cctx's own timer has fired.
	callerFirst := false
	if cd, ok := ctx.Deadline(); ok && cd.Before(deadline) {
		callerFirst = true
	}
	timedOut := err != nil && ctx.Err() == nil && !callerFirst &&
		(errors.Is(cctx.Err(), context.DeadlineExceeded) || !time.Now().Before(deadline))
	s.mu.Lock()
	s.health.Calls++
	s.health.CallTime += d
	if err != nil {
		s.health.CallErrors++
		s.health.LastError = err.Error()
	}
	if timedOut {
		s.health.Timeouts++
	}
	s.mu.Unlock()
	if timedOut {
		s.log.Error("plugin call timed out; killing the plugin", "timeout", s.spec.CallTimeout)
		p.Kill()
		return fmt.Errorf("plugin %s did not answer within %s (killed, will restart)", s.spec.Name, s.spec.CallTimeout)
	}
	return err
}

// Collect gathers one collector instance.
func (s *Supervisor) Collect(ctx context.Context, instanceID string, batchSize int, fn func(*metric.Batch) error) error {
	return s.call(ctx, func(ctx context.Context, p *host.Plugin) error {
		return p.Collect(ctx, instanceID, batchSize, fn)
	})
}

// Check runs one promise instance.
func (s *Supervisor) Check(ctx context.Context, instanceID string) (sdk.Result, error) {
	var r sdk.Result
	err := s.call(ctx, func(ctx context.Context, p *host.Plugin) error {
		var err error
		r, err = p.Check(ctx, instanceID)
		return err
	})
	return r, err
}

// Stop stops the plugin for good and waits until the current process is
// gone: it is not restarted (a restart already under way is closed by
// Run), calls fail with ErrDown, and Run returns. (Run also stops the
// plugin when its ctx ends.) Safe to call more than once.
func (s *Supervisor) Stop() {
	s.mu.Lock()
	s.stopped = true
	p := s.p
	s.mu.Unlock()
	if p != nil {
		s.setPlugin(nil)
		p.Close()
	}
}

// stdoutLogger turns what a plugin prints on stdout after the handshake
// into warnings: stdout is not a channel of the protocol.
type stdoutLogger struct{ log hclog.Logger }

func (w stdoutLogger) Write(b []byte) (int, error) {
	w.log.Warn("plugin wrote to stdout", "output", string(b))
	return len(b), nil
}
