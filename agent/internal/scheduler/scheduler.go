// Package scheduler runs the agent's periodic tasks (collector gathers,
// promise checks, internal metrics) each at its own interval with jitter.
// A task still running when its next run is due is skipped and counted,
// never stacked. It knows nothing of plugins: a task is a function.
package scheduler

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Task is one periodic job.
type Task struct {
	Name     string
	Interval time.Duration
	// Jitter delays each run by a random amount in [0, Jitter), and the
	// first run by a random splay in [0, min(Jitter, Interval)), so a
	// fleet of agents does not tick in lockstep.
	Jitter time.Duration
	Run    func(ctx context.Context) error
}

// Stats counts what happened to a task.
type Stats struct {
	Runs     int64
	Failures int64
	Skipped  int64 // due while the previous run was still going
}

// Scheduler runs tasks until stopped.
type Scheduler struct {
	tasks []*task
	wg    sync.WaitGroup // in-flight runs
	loops sync.WaitGroup
}

type task struct {
	Task
	running  atomic.Bool
	runs     atomic.Int64
	failures atomic.Int64
	skipped  atomic.Int64
}

// New returns a scheduler for tasks.
func New(tasks []Task) *Scheduler {
	s := &Scheduler{}
	for _, t := range tasks {
		s.tasks = append(s.tasks, &task{Task: t})
	}
	return s
}

// Start begins ticking. Ticks stop when tickCtx ends; runs get runCtx, so
// the caller can stop new runs first and cancel in-flight ones later.
func (s *Scheduler) Start(tickCtx, runCtx context.Context) {
	for _, t := range s.tasks {
		s.loops.Add(1)
		go s.loop(tickCtx, runCtx, t)
	}
}

func (s *Scheduler) loop(tickCtx, runCtx context.Context, t *task) {
	defer s.loops.Done()
	splay := time.Duration(0)
	if t.Jitter > 0 {
		splay = time.Duration(rand.Int64N(int64(min(t.Jitter, t.Interval))))
	}
	timer := time.NewTimer(splay)
	defer timer.Stop()
	next := time.Now().Add(splay)
	for {
		select {
		case <-tickCtx.Done():
			return
		case <-timer.C:
		}
		if tickCtx.Err() != nil {
			return // stopped while the timer fired: start nothing new
		}
		s.fire(runCtx, t)
		next = next.Add(t.Interval)
		if now := time.Now(); next.Before(now) {
			// Fell behind (the machine was suspended, say): realign
			// instead of firing a burst of catch-up runs.
			next = now.Add(t.Interval)
		}
		d := time.Until(next)
		if t.Jitter > 0 {
			d += time.Duration(rand.Int64N(int64(t.Jitter)))
		}
		timer.Reset(d)
	}
}

// fire starts a run unless the previous one is still going.
func (s *Scheduler) fire(ctx context.Context, t *task) {
	if !t.running.CompareAndSwap(false, true) {
		t.skipped.Add(1)
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer t.running.Store(false)
		t.runs.Add(1)
		if err := t.Run(ctx); err != nil {
			t.failures.Add(1)
		}
	}()
}

// RunOnce runs every task once, concurrently, and returns their errors by
// task name (for --once and --test).
func RunOnce(ctx context.Context, tasks []Task) map[string]error {
	var mu sync.Mutex
	errs := map[string]error{}
	var wg sync.WaitGroup
	for _, t := range tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := t.Run(ctx); err != nil {
				mu.Lock()
				errs[t.Name] = err
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errs
}

// Wait returns once the tick loops have stopped (their tickCtx ended) and
// every in-flight run has returned.
func (s *Scheduler) Wait() {
	s.loops.Wait()
	s.wg.Wait()
}

// Stats returns per-task counters by task name.
func (s *Scheduler) Stats() map[string]Stats {
	out := make(map[string]Stats, len(s.tasks))
	for _, t := range s.tasks {
		out[t.Name] = Stats{Runs: t.runs.Load(), Failures: t.failures.Load(), Skipped: t.skipped.Load()}
	}
	return out
}
