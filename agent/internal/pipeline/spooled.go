package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/vigilmon/vigil/internal/spool"
)

// SpoolConfig puts a disk spool before an output (see Spooled).
type SpoolConfig struct {
	// Dir holds the spool's segment files; the agent uses
	// <data_dir>/spool/<output>. Only one spool may use a directory at a
	// time.
	Dir string
	// MaxBytes bounds the spool on disk; when full it drops its oldest
	// batches, counted in OutputStats.Dropped. 0 is unbounded.
	MaxBytes int64
	// QuarantineDir receives the batches the output refuses as bad data,
	// as <batch id>.lp and <batch id>.json; default <Dir>/quarantine.
	QuarantineDir string
	// The quarantine keeps the newest QuarantineMaxBatches batches
	// (default 100) within QuarantineMaxBytes (default 64 MiB).
	QuarantineMaxBatches int
	QuarantineMaxBytes   int64
	Logger               hclog.Logger // may be nil
}

// Spooled wraps out so that a Pipeline delivers to it through a disk
// spool: every batch is appended (fsynced) to the spool in cfg.Dir before
// delivery, batches left there by a previous run are delivered first with
// their original ids, and delivery is lossless: transient errors are
// retried forever with backoff (capped at Config.RetryMax, longer when the
// output asks with RetryAfter), a Permanent error quarantines the batch,
// and at shutdown what is not delivered stays in the spool. Only a full
// spool loses batches (the oldest), and says how many points.
//
// Spooled opens the spool now, so that errors (permissions, a directory
// used by another spool) come before the pipeline starts. Closing the
// returned output (the pipeline does) closes the spool and out.
func Spooled(out Output, cfg SpoolConfig) (*SpooledOutput, error) {
	if cfg.Dir == "" {
		return nil, errors.New("spooling output " + out.Name() + ": no spool directory")
	}
	if cfg.QuarantineDir == "" {
		cfg.QuarantineDir = filepath.Join(cfg.Dir, "quarantine")
	}
	if cfg.QuarantineMaxBatches <= 0 {
		cfg.QuarantineMaxBatches = 100
	}
	if cfg.QuarantineMaxBytes <= 0 {
		cfg.QuarantineMaxBytes = 64 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	sp, err := spool.Open(cfg.Dir, spool.Options{MaxBytes: cfg.MaxBytes, Logger: cfg.Logger.Named("spool").With("output", out.Name())})
	if err != nil {
		return nil, fmt.Errorf("spooling output %s: %w", out.Name(), err)
	}
	return &SpooledOutput{
		out:  out,
		sp:   sp,
		quar: &quarantine{dir: cfg.QuarantineDir, maxBatches: cfg.QuarantineMaxBatches, maxBytes: cfg.QuarantineMaxBytes},
	}, nil
}

// SpooledOutput is an output behind a disk spool, made by Spooled. Given
// to New, it gets a spooled queue; its own Write is out's.
type SpooledOutput struct {
	out  Output
	sp   *spool.Spool
	quar *quarantine
	once sync.Once
	err  error
}

var (
	_ Output    = (*SpooledOutput)(nil)
	_ io.Closer = (*SpooledOutput)(nil)
)

// Name is the wrapped output's name.
func (o *SpooledOutput) Name() string { return o.out.Name() }

// Write writes to the wrapped output directly, bypassing the spool.
func (o *SpooledOutput) Write(ctx context.Context, lp []byte, points int) error {
	return o.out.Write(ctx, lp, points)
}

// Spool returns the spool's counters.
func (o *SpooledOutput) Spool() spool.Stats { return o.sp.Stats() }

// Close closes the spool, then the wrapped output if it is an io.Closer.
// It is safe to call more than once.
func (o *SpooledOutput) Close() error {
	o.once.Do(func() {
		var errs []error
		if err := o.sp.Close(); err != nil {
			errs = append(errs, err)
		}
		if c, ok := o.out.(io.Closer); ok {
			errs = append(errs, c.Close())
		}
		o.err = errors.Join(errs...)
	})
	return o.err
}

// maxPending bounds the batches a spooled queue holds in memory on their
// way to disk; push waits (and so does Pipeline.Write) only when the disk
// falls this far behind.
const maxPending = 16

var _ queue = (*spoolQueue)(nil)

// spoolQueue is the queue of a spooled output. push hands the batch to an
// appender goroutine, which appends it to the spool and releases it; next
// reads batches back from the spool; the worker acknowledges them with
// ack (done does nothing: a batch kept at shutdown must not be acked).
type spoolQueue struct {
	sp    *spool.Spool
	run   string // the id prefix of this pipeline's batches
	w     *worker
	log   hclog.Logger
	doneC chan struct{} // closed when the appender returns

	closing chan struct{} // closed by close
	// waitCtx ends Spool.Next's wait once the appender is done after
	// close, or the worker's context ends: whatever the spool still has
	// is handed out, then next returns false.
	waitCtx  context.Context
	stopWait context.CancelFunc

	mu        sync.Mutex
	cond      *sync.Cond // signals pending changes and close
	pending   []*batch
	closed    bool
	lastSpool uint64 // spool seq of the last batch appended by this run
	processed uint64 // pipeline seq of the last batch the appender handled
}

func newSpoolQueue(sp *spool.Spool, run string, log hclog.Logger) *spoolQueue {
	q := &spoolQueue{sp: sp, run: run, log: log, doneC: make(chan struct{}), closing: make(chan struct{})}
	q.cond = sync.NewCond(&q.mu)
	q.waitCtx, q.stopWait = context.WithCancel(context.Background())
	return q
}

// start runs the appender, reporting to w.
func (q *spoolQueue) start(w *worker) {
	q.w = w
	go q.appender()
}

func (q *spoolQueue) push(b *batch) []*batch {
	q.mu.Lock()
	for len(q.pending) >= maxPending && !q.closed {
		q.cond.Wait()
	}
	q.pending = append(q.pending, b)
	q.cond.Broadcast()
	q.mu.Unlock()
	return nil
}

func (q *spoolQueue) appender() {
	defer close(q.doneC)
	defer q.stopWait()
	for {
		q.mu.Lock()
		for len(q.pending) == 0 && !q.closed {
			q.cond.Wait()
		}
		if len(q.pending) == 0 {
			q.mu.Unlock()
			return
		}
		b := q.pending[0]
		q.pending[0] = nil
		q.pending = q.pending[1:]
		q.cond.Broadcast()
		q.mu.Unlock()

		seq, d, err := q.sp.Append(spool.Record{ID: b.id, Count: b.points, Data: b.lp})
		if err != nil {
			err = fmt.Errorf("writing the batch to the spool: %w", err)
			if seq != 0 {
				// Written but maybe not durable: it will be delivered.
				q.log.Error("spool fsync failed: the batch may be lost in a crash", "error", err)
				err = nil
			}
		}
		q.mu.Lock()
		if err == nil {
			q.lastSpool = seq
		}
		q.processed = b.seq
		q.mu.Unlock()
		q.w.appended(b, d.Records, d.Count, err, q.settled())
		b.release()
	}
}

// settled returns the pipeline seq up to which every batch this run
// pushed is done, when that is every batch the appender handled (nothing
// of this run left in the spool); else 0.
func (q *spoolQueue) settled() uint64 {
	q.mu.Lock()
	last, processed := q.lastSpool, q.processed
	q.mu.Unlock()
	if last == 0 || !q.sp.Live(last) {
		return processed
	}
	return 0
}

func (q *spoolQueue) next(ctx context.Context) (*batch, bool) {
	if ctx.Err() != nil {
		return nil, false // what is left stays in the spool
	}
	stop := context.AfterFunc(ctx, q.stopWait)
	defer stop()
	r, err := q.sp.Next(q.waitCtx)
	if err != nil {
		if !errors.Is(err, context.Canceled) && !errors.Is(err, spool.ErrClosed) {
			q.log.Error("cannot read the spool", "error", err)
		}
		return nil, false
	}
	b := &batch{lp: r.Data, points: r.Count, id: r.ID, seq: q.pipelineSeq(r.ID), spoolSeq: r.Seq}
	b.refs.Store(1)
	return b, true
}

// pipelineSeq recovers the pipeline seq from the id of a batch cut by this
// pipeline (see newBatchID); batches of an earlier run get 0.
func (q *spoolQueue) pipelineSeq(id string) uint64 {
	if len(id) != len(q.run)+16 || id[:len(q.run)] != q.run {
		return 0
	}
	n, err := strconv.ParseUint(id[len(q.run):], 16, 64)
	if err != nil {
		return 0
	}
	return n
}

func (q *spoolQueue) done(*batch) {}

// ack acknowledges b in the spool, reporting whether it was still there.
func (q *spoolQueue) ack(b *batch) (bool, error) { return q.sp.AckLive(b.spoolSeq) }

func (q *spoolQueue) live(b *batch) bool { return q.sp.Live(b.spoolSeq) }

func (q *spoolQueue) isClosing() bool {
	select {
	case <-q.closing:
		return true
	default:
		return false
	}
}

func (q *spoolQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		close(q.closing)
		q.cond.Broadcast()
	}
}

// waitAppender returns once everything pushed is in the spool (or failed
// to get there).
func (q *spoolQueue) waitAppender() { <-q.doneC }
