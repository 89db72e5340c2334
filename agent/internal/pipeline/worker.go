package pipeline

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// OutputStats counts one output's points.
type OutputStats struct {
	Sent    int64 // delivered
	Failed  int64 // given up on: refused by the target or out of retries
	Dropped int64 // never delivered: evicted from a full queue, or abandoned at shutdown
	Queued  int64 // waiting or being delivered
	// LastError is the latest failed attempt's error; it is cleared by the
	// next success.
	LastError string
}

// maxFailures bounds the undelivered batches remembered for Flush.
const maxFailures = 64

// failure is a batch that was not delivered, kept until Flush reports it.
type failure struct {
	seq    uint64
	points int
	err    error
}

// worker delivers one output's queue, in order, with retries.
type worker struct {
	out   Output
	name  string
	q     queue
	log   hclog.Logger
	retry retryPolicy

	mu       sync.Mutex
	stats    OutputStats
	doneSeq  uint64        // every batch up to this one is delivered or given up on
	progress chan struct{} // closed and replaced when doneSeq moves
	failures []failure
	failing  bool
	lost     int64 // points lost since the output started failing
}

type retryPolicy struct {
	min, max time.Duration
	retries  int
}

// backoff is the delay before retry attempt+1: full jitter over an
// exponentially growing ceiling.
func (r retryPolicy) backoff(attempt int) time.Duration {
	ceiling := r.min
	for i := 0; i < attempt && ceiling < r.max; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, r.max)
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling + 1)
}

func newWorker(out Output, name string, q queue, log hclog.Logger, retry retryPolicy) *worker {
	return &worker{out: out, name: name, q: q, log: log, retry: retry, progress: make(chan struct{})}
}

// enqueue adds b to the queue; called with the pipeline's lock held.
func (w *worker) enqueue(b *batch) {
	w.mu.Lock()
	w.stats.Queued += int64(b.points)
	w.mu.Unlock()
	for _, old := range w.q.push(b) {
		w.mu.Lock()
		w.stats.Queued -= int64(old.points)
		w.stats.Dropped += int64(old.points)
		w.lostLocked(old, fmt.Errorf("queue full: dropped the oldest batch (%d points)", old.points))
		w.mu.Unlock()
		old.release()
	}
}

// run delivers batches until the queue is closed and empty, or ctx is done
// and the queue is empty (what is left is counted as dropped).
func (w *worker) run(ctx context.Context) {
	for {
		b, ok := w.q.next(ctx)
		if !ok {
			return
		}
		err := w.deliver(ctx, b)
		w.q.done(b)
		w.finish(ctx, b, err)
		b.release()
	}
}

func (w *worker) deliver(ctx context.Context, b *batch) error {
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("delivery abandoned at shutdown: %w", err)
		}
		err := w.out.Write(ctx, b.lp, b.points)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err // our own shutdown, not the output's fault
		}
		w.mu.Lock()
		w.stats.LastError = err.Error()
		w.mu.Unlock()
		if IsPermanent(err) || attempt >= w.retry.retries {
			return err
		}
		w.log.Debug("write failed, will retry", "error", err, "attempt", attempt+1)
		t := time.NewTimer(w.retry.backoff(attempt))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
	}
}

// finish records the outcome of b and tells Flush waiters.
func (w *worker) finish(ctx context.Context, b *batch, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stats.Queued -= int64(b.points)
	switch {
	case err == nil:
		w.stats.Sent += int64(b.points)
		w.stats.LastError = ""
		if w.failing {
			w.log.Info("output recovered", "lost_points", w.lost)
			w.failing, w.lost = false, 0
		}
	case ctx.Err() != nil:
		w.stats.Dropped += int64(b.points)
		w.lostLocked(b, err)
	default:
		w.stats.Failed += int64(b.points)
		w.lostLocked(b, err)
	}
	w.doneSeq = b.seq
	close(w.progress)
	w.progress = make(chan struct{})
}

// lostLocked remembers an undelivered batch for Flush and logs the first
// loss of a failing streak (the rest are counted, not logged).
func (w *worker) lostLocked(b *batch, err error) {
	if len(w.failures) == maxFailures {
		w.failures = append(w.failures[:0], w.failures[1:]...)
	}
	w.failures = append(w.failures, failure{seq: b.seq, points: b.points, err: err})
	w.lost += int64(b.points)
	if !w.failing {
		w.failing = true
		w.log.Warn("output is losing points until it recovers", "error", err, "points", b.points)
	}
}

// waitFor blocks until every batch up to seq is delivered or given up on.
func (w *worker) waitFor(ctx context.Context, seq uint64) error {
	for {
		w.mu.Lock()
		done, ch := w.doneSeq >= seq, w.progress
		w.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("output %s still delivering: %w", w.name, ctx.Err())
		}
	}
}

// takeFailures returns, as one error, the undelivered batches up to seq
// not reported before, and forgets them.
func (w *worker) takeFailures(seq uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var first error
	var batches, points int
	kept := w.failures[:0]
	for _, f := range w.failures {
		if f.seq > seq {
			kept = append(kept, f)
			continue
		}
		if first == nil {
			first = f.err
		}
		batches++
		points += f.points
	}
	w.failures = kept
	if first == nil {
		return nil
	}
	return fmt.Errorf("output %s: %d batches (%d points) not delivered, first: %w", w.name, batches, points, first)
}

func (w *worker) snapshot() OutputStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}
