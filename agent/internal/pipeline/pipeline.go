package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/vigilmon/vigil/agent/internal/lineproto"
	"github.com/vigilmon/vigil/sdk/metric"
)

// Config tunes a Pipeline. Zero values take the defaults.
type Config struct {
	Node          string            // the node tag on every point
	Tags          map[string]string // added to points that lack these keys
	BatchSize     int               // points per batch; default 10000
	FlushInterval time.Duration     // a partial batch waits at most this; default 1s
	QueueBatches  int               // batches queued per output in memory; default 100
	RetryMin      time.Duration     // first backoff ceiling; default 500ms
	RetryMax      time.Duration     // largest backoff; default 30s
	// MaxRetries is the retries after the first attempt; default 5,
	// negative for none. Spooled outputs (see Spooled) retry forever.
	MaxRetries int
}

func (c Config) withDefaults() Config {
	if c.BatchSize <= 0 {
		c.BatchSize = 10000
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = time.Second
	}
	if c.QueueBatches <= 0 {
		c.QueueBatches = 100
	}
	if c.RetryMin <= 0 {
		c.RetryMin = 500 * time.Millisecond
	}
	if c.RetryMax <= 0 {
		c.RetryMax = 30 * time.Second
	}
	c.RetryMax = max(c.RetryMax, c.RetryMin)
	switch {
	case c.MaxRetries == 0:
		c.MaxRetries = 5
	case c.MaxRetries < 0:
		c.MaxRetries = 0
	}
	return c
}

// ErrClosed is returned by Write and Flush after Close.
var ErrClosed = errors.New("pipeline is closed")

// EncodeStats counts what Write encoded over the pipeline's life.
type EncodeStats struct {
	Points        int64 // lines encoded
	Dropped       int64 // points left out (see lineproto.Stats)
	DroppedFields int64
}

// Pipeline encodes plugin batches and delivers them to its outputs.
type Pipeline struct {
	cfg     Config
	log     hclog.Logger
	workers []*worker
	outs    []Output // as given to New, in the order of workers
	run     string   // hex prefix of this pipeline's batch ids

	mu      sync.Mutex // guards the fields below and the order of handoffs
	enc     *lineproto.Encoder
	buf     []byte
	points  int
	seq     uint64 // of the last batch cut
	closed  bool
	encoded EncodeStats

	stop       chan struct{} // ends the flush ticker
	tickerDone chan struct{}
	workersRun sync.WaitGroup
	cancel     context.CancelFunc // aborts deliveries when Close runs out of time

	closeOnce sync.Once
	closeErr  error
}

// New starts a pipeline delivering to outs: one goroutine per output and a
// flush ticker, until Close. Outputs with the same name are told apart in
// Stats by a suffix: "file", "file-2". An output made by Spooled gets its
// disk spool as queue; the others a queue in memory.
func New(cfg Config, log hclog.Logger, outs ...Output) *Pipeline {
	cfg = cfg.withDefaults()
	if log == nil {
		log = hclog.NewNullLogger()
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pipeline{
		cfg:        cfg,
		log:        log,
		enc:        lineproto.NewEncoder(cfg.Node, cfg.Tags),
		buf:        getBuf(0),
		stop:       make(chan struct{}),
		tickerDone: make(chan struct{}),
		cancel:     cancel,
		run:        newRunID(),
	}
	seen := map[string]int{}
	retry := retryPolicy{min: cfg.RetryMin, max: cfg.RetryMax, retries: cfg.MaxRetries}
	for _, out := range outs {
		name := out.Name()
		if seen[name]++; seen[name] > 1 {
			name += "-" + strconv.Itoa(seen[name])
		}
		wlog := log.Named("output").With("output", name)
		var w *worker
		if so, ok := out.(*SpooledOutput); ok {
			sq := newSpoolQueue(so.sp, p.run, wlog)
			w = newWorker(so.out, name, sq, wlog, retry)
			w.sq, w.quar = sq, so.quar
			w.stats.Queued = so.sp.PendingCount()
			sq.start(w)
		} else {
			w = newWorker(out, name, newMemQueue(cfg.QueueBatches), wlog, retry)
		}
		p.workers = append(p.workers, w)
		p.outs = append(p.outs, out)
		p.workersRun.Add(1)
		go func() {
			defer p.workersRun.Done()
			w.run(ctx)
		}()
	}
	go p.tick()
	return p
}

func (p *Pipeline) tick() {
	defer close(p.tickerDone)
	t := time.NewTicker(p.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			p.mu.Lock()
			p.cutLocked()
			p.mu.Unlock()
		case <-p.stop:
			return
		}
	}
}

// Write encodes b, tagged with plugin, into the current batch; a full batch
// goes to every output's queue. It never waits for an output. It is safe
// for concurrent use, and b may be reused once it returns.
//
// An error means the batch was malformed (nothing was written) or some of
// its points or fields could not be encoded (the rest were written).
func (p *Pipeline) Write(plugin string, b *metric.Batch) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	buf, st, err := p.enc.Append(p.buf, plugin, b)
	p.buf = buf
	p.points += st.Points
	p.encoded.Points += int64(st.Points)
	p.encoded.Dropped += int64(st.Dropped)
	p.encoded.DroppedFields += int64(st.DroppedFields)
	if p.points >= p.cfg.BatchSize {
		p.cutLocked()
	}
	if err != nil {
		return fmt.Errorf("encoding points of plugin %s: %w", plugin, err)
	}
	return nil
}

// cutLocked hands the current buffer, if not empty, to every output.
func (p *Pipeline) cutLocked() {
	if p.points == 0 {
		return
	}
	p.seq++
	size := len(p.buf)
	b := &batch{lp: p.buf, points: p.points, seq: p.seq, id: newBatchID(p.run, p.seq), pooled: true}
	b.refs.Store(int32(len(p.workers)) + 1) // +1 for this function
	for _, w := range p.workers {
		w.enqueue(b)
	}
	b.release()
	// The last batch's size (plus a quarter) predicts the next one's.
	p.buf, p.points = getBuf(size+size/4), 0
}

// Flush cuts the current batch and waits until every output has delivered
// or given up on every batch cut so far. It returns the delivery failures
// of those batches not reported by an earlier Flush, joined, or an error
// if ctx ends first.
func (p *Pipeline) Flush(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	p.cutLocked()
	seq := p.seq
	p.mu.Unlock()
	for _, w := range p.workers {
		if err := w.waitFor(ctx, seq); err != nil {
			return fmt.Errorf("flush interrupted: %w", err)
		}
	}
	var errs []error
	for _, w := range p.workers {
		errs = append(errs, w.takeFailures(seq))
	}
	return errors.Join(errs...)
}

// Close stops accepting writes, cuts the last batch and lets the outputs
// drain their queues until ctx ends; then it abandons what is left
// (counted as dropped), waits for the outputs to return, and closes those
// that are io.Closers. It is safe to call more than once; later calls
// return the first call's result. Delivery failures are reported by Flush,
// not by Close.
func (p *Pipeline) Close(ctx context.Context) error {
	p.closeOnce.Do(func() { p.closeErr = p.close(ctx) })
	return p.closeErr
}

func (p *Pipeline) close(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	p.cutLocked()
	p.mu.Unlock()
	close(p.stop)
	<-p.tickerDone
	for _, w := range p.workers {
		w.q.close()
	}
	drained := make(chan struct{})
	go func() {
		p.workersRun.Wait()
		close(drained)
	}()
	var errs []error
	select {
	case <-drained:
	case <-ctx.Done():
		var points int64
		for _, w := range p.workers {
			if w.sq == nil {
				points += w.snapshot().Queued
			}
		}
		p.cancel()
		<-drained
		if points > 0 {
			errs = append(errs, fmt.Errorf("closing pipeline: outputs did not drain in time, %d points abandoned", points))
		}
	}
	p.cancel()
	for i, w := range p.workers {
		if w.sq != nil {
			if queued := w.snapshot().Queued; queued > 0 {
				w.log.Info("points kept in the spool for the next start", "points", queued)
			}
		}
		if c, ok := p.outs[i].(io.Closer); ok {
			if err := c.Close(); err != nil {
				errs = append(errs, fmt.Errorf("closing output %s: %w", w.name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// newRunID returns 8 random bytes in hex: the prefix of a pipeline's batch
// ids.
func newRunID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b[:])
}

// newBatchID is the id of batch seq of the pipeline run: 32 hex digits,
// unique across runs (the random run prefix) and within one (seq).
func newBatchID(run string, seq uint64) string {
	return fmt.Sprintf("%s%016x", run, seq)
}

// Stats returns each output's counters, by output name.
func (p *Pipeline) Stats() map[string]OutputStats {
	m := make(map[string]OutputStats, len(p.workers))
	for _, w := range p.workers {
		m[w.name] = w.snapshot()
	}
	return m
}

// Encoded returns what Write encoded and dropped so far.
func (p *Pipeline) Encoded() EncodeStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.encoded
}
