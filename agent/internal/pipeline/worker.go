package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// OutputStats counts one output's points.
type OutputStats struct {
	Sent   int64 // delivered
	Failed int64 // given up on: refused by the target or out of retries
	// Dropped were never delivered: evicted from a full queue or spool,
	// or abandoned at shutdown (a spooled output keeps those instead).
	Dropped int64
	Queued  int64 // waiting (in memory or in the spool) or being delivered
	// Quarantined were refused as bad data by a spooled output and set
	// aside in its quarantine directory.
	Quarantined int64
	// LastError is the latest failed attempt's error; it is cleared by the
	// next success.
	LastError string
}

// maxFailures bounds the undelivered batches remembered for Flush.
const maxFailures = 64

// failure is a batch that was not delivered, kept until Flush reports it.
type failure struct {
	seq    uint64
	points int64
	err    error
}

// worker delivers one output's queue, in order, with retries. With a
// spool (sq set) it is lossless: it retries until the output takes the
// batch, quarantines what the output refuses as bad data, and leaves the
// rest in the spool at shutdown.
type worker struct {
	out   Output
	name  string
	q     queue
	sq    *spoolQueue // q, when it is a spool
	quar  *quarantine // with sq
	log   hclog.Logger
	retry retryPolicy

	mu       sync.Mutex
	stats    OutputStats
	doneSeq  uint64        // every batch up to this one is delivered or given up on
	progress chan struct{} // closed and replaced when doneSeq moves
	failures []failure
	failing  bool  // losing points: logged once per streak
	retrying bool  // a spooled output failing (and keeping its batches)
	lost     int64 // points lost since the output started failing
	// acking counts finishSpooled calls between their spool ack and their
	// stats; while one is, what the appender finds settled waits in
	// heldDone, so that Flush never returns before the stats say so.
	acking   int
	heldDone uint64
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
		w.lostLocked(old.seq, int64(old.points), fmt.Errorf("queue full: dropped the oldest batch (%d points)", old.points))
		w.mu.Unlock()
		old.release()
	}
}

// run delivers batches until the queue is closed and empty, or ctx is done
// and the queue is empty (what is left is counted as dropped; a spool
// keeps it).
func (w *worker) run(ctx context.Context) {
	if w.sq != nil {
		defer w.sq.waitAppender()
	}
	for {
		b, ok := w.q.next(ctx)
		if !ok {
			return
		}
		err := w.deliver(ctx, b)
		if w.sq != nil {
			if errors.Is(err, errKept) {
				b.release()
				return
			}
			w.finishSpooled(b, err)
		} else {
			w.q.done(b)
			w.finish(ctx, b, err)
		}
		b.release()
	}
}

// errKept ends a spooled output's delivery at shutdown: the batch stays in
// the spool for the next start. errGone: the spool dropped the batch
// (full) while it was being retried.
var (
	errKept = errors.New("kept in the spool")
	errGone = errors.New("dropped from the spool")
)

func (w *worker) deliver(ctx context.Context, b *batch) error {
	lossless := w.sq != nil
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			if lossless {
				return errKept
			}
			return fmt.Errorf("delivery abandoned at shutdown: %w", err)
		}
		err := w.write(ctx, b)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			if lossless {
				return errKept
			}
			return err // our own shutdown, not the output's fault
		}
		w.mu.Lock()
		w.stats.LastError = err.Error()
		w.mu.Unlock()
		if IsPermanent(err) {
			return err
		}
		var closing <-chan struct{}
		if lossless {
			w.retryingStreak(err)
			if w.sq.isClosing() {
				return errKept // no retries at shutdown: the spool keeps it
			}
			if !w.sq.live(b) {
				return errGone
			}
			closing = w.sq.closing
		} else if attempt >= w.retry.retries {
			return err
		}
		wait := w.retry.backoff(attempt)
		if after, ok := RetryAfterOf(err); ok && after > wait {
			wait = after
		}
		w.log.Debug("write failed, will retry", "error", err, "attempt", attempt+1, "wait", wait)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			if lossless {
				return errKept
			}
			return err
		case <-closing:
			t.Stop()
			return errKept
		}
	}
}

func (w *worker) write(ctx context.Context, b *batch) error {
	if bw, ok := w.out.(BatchWriter); ok {
		return bw.WriteBatch(ctx, b.id, b.lp, b.points)
	}
	return w.out.Write(ctx, b.lp, b.points)
}

// retryingStreak logs the first failure of a spooled output's streak.
func (w *worker) retryingStreak(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.retrying {
		w.retrying = true
		w.log.Warn("output failing: its batches are kept in the spool and retried until it recovers", "error", err)
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
		w.recoveredLocked()
	case ctx.Err() != nil:
		w.stats.Dropped += int64(b.points)
		w.lostLocked(b.seq, int64(b.points), err)
	default:
		w.stats.Failed += int64(b.points)
		w.lostLocked(b.seq, int64(b.points), err)
	}
	w.markDoneLocked(b.seq)
}

// finishSpooled records the outcome of a batch read from the spool and
// acknowledges it unless the spool already dropped it.
func (w *worker) finishSpooled(b *batch, err error) {
	var quarErr error
	if err != nil && !errors.Is(err, errGone) {
		// Refused as bad data: set aside, then acknowledged.
		quarErr = w.quar.put(b.id, w.name, b.lp, b.points, err)
		if quarErr != nil {
			w.log.Error("cannot quarantine a refused batch: its points are lost", "error", quarErr, "batch", b.id, "points", b.points)
		} else {
			w.log.Warn("output refused a batch: quarantined", "error", err, "batch", b.id, "points", b.points, "path", w.quar.dir)
		}
	}
	w.mu.Lock()
	w.acking++
	w.mu.Unlock()
	live := false
	if !errors.Is(err, errGone) {
		var ackErr error
		live, ackErr = w.sq.ack(b)
		if ackErr != nil {
			w.log.Warn("cannot save the spool's ack point: the batch may be sent again after a restart", "error", ackErr)
		}
	}
	settled := w.sq.settled()
	w.mu.Lock()
	defer w.mu.Unlock()
	points := int64(b.points)
	if !errors.Is(err, errGone) {
		if live {
			w.stats.Queued -= points
		} else {
			// Dropped from the spool (and counted so) while in flight,
			// but delivered or quarantined after all: not lost.
			w.stats.Dropped -= points
			w.lost = max(w.lost-points, 0)
		}
	}
	switch {
	case err == nil:
		w.stats.Sent += points
		w.recoveredLocked()
	case errors.Is(err, errGone):
	case quarErr != nil:
		w.stats.Failed += points
		w.lostLocked(b.seq, points, err)
	default:
		w.stats.Quarantined += points
		w.lostLocked(b.seq, points, fmt.Errorf("quarantined: %w", err))
	}
	w.acking--
	w.markDoneLocked(max(b.seq, settled))
}

// appended records what the spool's appender did with b: appended it
// (err nil) or not, evicting d to make room; settled is the batch up to
// which everything is done.
func (w *worker) appended(b *batch, droppedRecords, droppedPoints int64, err error, settled uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if droppedRecords > 0 {
		w.stats.Queued -= droppedPoints
		w.stats.Dropped += droppedPoints
		w.lostLocked(b.seq, droppedPoints, fmt.Errorf("spool full: dropped the %d oldest batches (%d points)", droppedRecords, droppedPoints))
	}
	if err != nil {
		w.stats.Queued -= int64(b.points)
		w.stats.Dropped += int64(b.points)
		w.lostLocked(b.seq, int64(b.points), err)
	}
	// settled may count a batch whose sender has acknowledged it in the
	// spool and not yet counted it: it is marked done once that is done.
	w.markDoneLocked(settled)
}

func (w *worker) recoveredLocked() {
	w.stats.LastError = ""
	if w.failing || w.retrying {
		w.log.Info("output recovered", "lost_points", w.lost)
		w.failing, w.retrying, w.lost = false, false, 0
	}
}

// markDoneLocked tells Flush waiters that every batch up to seq is done
// (later, while a spooled batch's outcome is being recorded: see acking).
func (w *worker) markDoneLocked(seq uint64) {
	if w.acking > 0 {
		w.heldDone = max(w.heldDone, seq)
		return
	}
	seq = max(seq, w.heldDone)
	w.heldDone = 0
	if seq <= w.doneSeq {
		return
	}
	w.doneSeq = seq
	close(w.progress)
	w.progress = make(chan struct{})
}

// lostLocked remembers an undelivered batch for Flush and logs the first
// loss of a failing streak (the rest are counted, not logged).
func (w *worker) lostLocked(seq uint64, points int64, err error) {
	if len(w.failures) == maxFailures {
		w.failures = append(w.failures[:0], w.failures[1:]...)
	}
	w.failures = append(w.failures, failure{seq: seq, points: points, err: err})
	w.lost += points
	if !w.failing {
		w.failing = true
		w.log.Warn("output is losing points until it recovers", "error", err, "points", points)
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
	var batches int
	var points int64
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
