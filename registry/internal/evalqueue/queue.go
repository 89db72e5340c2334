package evalqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/vigilmon/vigil/registry/internal/evaluate"
	"github.com/vigilmon/vigil/registry/internal/store"
	"github.com/vigilmon/vigil/sdk/release"
)

// Actor is recorded as the actor of the transitions the queue makes.
const Actor = "evaluator"

// Evaluator runs one release; *evaluate.Evaluator is the real one.
type Evaluator interface {
	Evaluate(ctx context.Context, in evaluate.Input) evaluate.Report
}

// catalog is what the queue needs of the store.
type catalog interface {
	Plugin(ctx context.Context, name string) (store.Plugin, error)
	Publisher(ctx context.Context, id int64) (store.Publisher, error)
	Release(ctx context.Context, plugin, version string) (store.Release, error)
	ListReleases(ctx context.Context, q store.ReleaseQuery) ([]store.Release, error)
	TransitionRelease(ctx context.Context, plugin, version string, to store.State, actor, reason string) (store.Release, error)
	AddEvaluation(ctx context.Context, plugin, version string, e store.Evaluation) error
}

// Config configures a Queue.
type Config struct {
	Store       catalog
	Evaluator   Evaluator
	ArtifactDir string        // releases live in <ArtifactDir>/<plugin>/<version>/
	Workers     int           // evaluations at a time; default 1
	Timeout     time.Duration // per evaluation; 0 means none beyond the evaluator's own
	Logger      hclog.Logger
}

type job struct{ plugin, version string }

// Queue is the bounded evaluation worker pool.
type Queue struct {
	cfg    Config
	log    hclog.Logger
	mu     sync.Mutex
	jobs   []job
	wake   chan struct{}
	queued map[job]bool
}

// New returns a queue; nothing runs until Run.
func New(cfg Config) *Queue {
	if cfg.Workers <= 0 {
		cfg.Workers = 1
	}
	log := cfg.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Queue{cfg: cfg, log: log.Named("evaluation"), wake: make(chan struct{}, 1), queued: map[job]bool{}}
}

// Enqueue schedules the evaluation of a pending release. It never blocks.
func (q *Queue) Enqueue(plugin, version string) {
	q.mu.Lock()
	j := job{plugin, version}
	if !q.queued[j] {
		q.queued[j] = true
		q.jobs = append(q.jobs, j)
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// next takes the oldest job, waking a sibling worker if more remain.
func (q *Queue) next() (job, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.jobs) == 0 {
		return job{}, false
	}
	j := q.jobs[0]
	q.jobs = q.jobs[1:]
	delete(q.queued, j)
	if len(q.jobs) > 0 {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
	return j, true
}

// Run re-queues what a previous run left unfinished, then evaluates
// releases until ctx is done, and returns once every worker has stopped.
func (q *Queue) Run(ctx context.Context) error {
	if err := q.requeue(ctx); err != nil {
		return err
	}
	var wg sync.WaitGroup
	for range q.cfg.Workers {
		wg.Go(func() {
			for {
				if j, ok := q.next(); ok {
					q.evaluate(ctx, j)
					continue
				}
				select {
				case <-ctx.Done():
					return
				case <-q.wake:
				}
			}
		})
	}
	wg.Wait()
	return nil
}

// requeue puts releases left evaluating back to pending and queues every
// pending release.
func (q *Queue) requeue(ctx context.Context) error {
	stuck, err := q.cfg.Store.ListReleases(ctx, store.ReleaseQuery{States: []store.State{store.Evaluating}})
	if err != nil {
		return fmt.Errorf("listing interrupted evaluations: %w", err)
	}
	for _, r := range stuck {
		if _, err := q.cfg.Store.TransitionRelease(ctx, r.Plugin, r.Version, store.Pending, Actor, "evaluation interrupted by a registry restart"); err != nil {
			return fmt.Errorf("re-queueing %s %s: %w", r.Plugin, r.Version, err)
		}
	}
	pending, err := q.cfg.Store.ListReleases(ctx, store.ReleaseQuery{States: []store.State{store.Pending}})
	if err != nil {
		return fmt.Errorf("listing pending releases: %w", err)
	}
	for _, r := range pending {
		q.Enqueue(r.Plugin, r.Version)
	}
	return nil
}

// evaluate runs one job; failures are logged, since nobody waits on it.
func (q *Queue) evaluate(ctx context.Context, j job) {
	log := q.log.With("plugin", j.plugin, "version", j.version)
	if ctx.Err() != nil {
		return // shutting down: the release stays pending for the next run
	}
	in, err := q.input(ctx, j)
	if err != nil {
		log.Error("cannot evaluate release", "error", err)
		return
	}
	if _, err := q.cfg.Store.TransitionRelease(ctx, j.plugin, j.version, store.Evaluating, Actor, ""); err != nil {
		if !errors.Is(err, store.ErrInvalidTransition) { // abandoned meanwhile: nothing to do
			log.Error("cannot start evaluation", "error", err)
		}
		return
	}
	ectx := ctx
	if q.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ectx, cancel = context.WithTimeout(ctx, q.cfg.Timeout)
		defer cancel()
	}
	start := time.Now()
	rep := q.cfg.Evaluator.Evaluate(ectx, in)
	// Record with a context of its own: the outcome of a finished run
	// must not be lost to a shutdown that began a moment later.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if ctx.Err() != nil { // interrupted by shutdown, not judged: run again next time
		if _, err := q.cfg.Store.TransitionRelease(rctx, j.plugin, j.version, store.Pending, Actor, "evaluation interrupted by a registry shutdown"); err != nil {
			log.Error("cannot re-queue interrupted evaluation", "error", err)
		}
		return
	}
	if err := q.record(rctx, j, rep); err != nil {
		log.Error("cannot record evaluation", "error", err)
		return
	}
	log.Info("release evaluated", "passed", rep.Passed, "duration", time.Since(start))
}

func (q *Queue) input(ctx context.Context, j job) (evaluate.Input, error) {
	r, err := q.cfg.Store.Release(ctx, j.plugin, j.version)
	if err != nil {
		return evaluate.Input{}, fmt.Errorf("reading release: %w", err)
	}
	in := evaluate.Input{Plugin: j.plugin, Version: j.version, Dir: filepath.Join(q.cfg.ArtifactDir, j.plugin, j.version)}
	if r.Signature == nil {
		return in, nil // the evaluator fails the signature check
	}
	p, err := q.cfg.Store.Plugin(ctx, j.plugin)
	if err != nil {
		return evaluate.Input{}, fmt.Errorf("reading plugin: %w", err)
	}
	pub, err := q.cfg.Store.Publisher(ctx, p.Owner)
	if err != nil {
		return evaluate.Input{}, fmt.Errorf("reading publisher: %w", err)
	}
	for _, k := range pub.Keys {
		if k.ID == r.Signature.KeyID {
			in.PublicKey = release.PublicKey(k.PublicKey)
		}
	}
	return in, nil
}

func (q *Queue) record(ctx context.Context, j job, rep evaluate.Report) error {
	raw, err := json.Marshal(rep)
	if err != nil {
		return fmt.Errorf("encoding report: %w", err)
	}
	if err := q.cfg.Store.AddEvaluation(ctx, j.plugin, j.version, store.Evaluation{Report: raw, Started: rep.Started, Finished: rep.Finished}); err != nil {
		return fmt.Errorf("storing report: %w", err)
	}
	to, reason := store.Failed, failureReason(rep)
	if rep.Passed {
		to, reason = store.Passed, ""
	}
	if _, err := q.cfg.Store.TransitionRelease(ctx, j.plugin, j.version, to, Actor, reason); err != nil {
		return fmt.Errorf("moving release to %s: %w", to, err)
	}
	return nil
}

// failureReason names the first failed check.
func failureReason(rep evaluate.Report) string {
	for _, c := range rep.Checks {
		if !c.Passed {
			if c.Detail != "" {
				return c.Name + ": " + c.Detail
			}
			return c.Name + " failed"
		}
	}
	return "evaluation failed"
}
