package pipeline

import (
	"context"
	"sync"
	"sync/atomic"
)

// batch is a run of whole line-protocol lines handed to every output. Its
// buffer is shared and read-only; each output releases it when done, and
// the last release returns the buffer to the pool.
type batch struct {
	lp     []byte
	points int
	seq    uint64 // 1, 2, ... in the order batches were cut
	id     string // unique, given when cut (see newBatchID)
	// spoolSeq is the batch's record in a spool, when it was read back
	// from one; 0 otherwise.
	spoolSeq uint64
	refs     atomic.Int32
	pooled   bool
}

func (b *batch) release() {
	if b.refs.Add(-1) == 0 && b.pooled {
		buf := b.lp[:0]
		b.lp = nil
		bufPool.Put(&buf)
	}
}

// bufPool recycles encode buffers; a batch of 10k points is about 1 MiB.
var bufPool = sync.Pool{New: func() any { return new([]byte) }}

// getBuf returns an empty buffer with room for at least hint bytes, so a
// buffer fresh from an empty pool does not grow by doubling through a
// whole batch.
func getBuf(hint int) []byte {
	b := *bufPool.Get().(*[]byte)
	if cap(b) < hint {
		b = make([]byte, 0, hint)
	}
	return b
}

// queue holds the batches waiting for one output. It is what a disk spool
// replaces (see the package doc).
type queue interface {
	// push adds b and returns the batches it evicted to make room.
	push(b *batch) (evicted []*batch)
	// next returns the oldest batch, blocking until there is one. It returns
	// false once the queue is closed and empty, or ctx is done and the queue
	// is empty: queued batches are handed out even after ctx is done.
	next(ctx context.Context) (*batch, bool)
	// done reports that a batch from next was delivered or given up on.
	done(b *batch)
	// close ends the queue: next returns what is left, then false.
	close()
}

var _ queue = (*memQueue)(nil)

// memQueue is a bounded FIFO in memory that evicts its oldest batch when
// full.
type memQueue struct {
	mu     sync.Mutex
	ring   []*batch
	head   int
	n      int
	closed bool
	wake   chan struct{} // one consumer: capacity 1 is enough
	end    chan struct{} // closed by close
}

func newMemQueue(capacity int) *memQueue {
	return &memQueue{ring: make([]*batch, capacity), wake: make(chan struct{}, 1), end: make(chan struct{})}
}

func (q *memQueue) push(b *batch) (evicted []*batch) {
	q.mu.Lock()
	if q.n == len(q.ring) {
		evicted = append(evicted, q.ring[q.head])
		q.ring[q.head] = nil
		q.head = (q.head + 1) % len(q.ring)
		q.n--
	}
	q.ring[(q.head+q.n)%len(q.ring)] = b
	q.n++
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return evicted
}

func (q *memQueue) next(ctx context.Context) (*batch, bool) {
	for {
		q.mu.Lock()
		if q.n > 0 {
			b := q.ring[q.head]
			q.ring[q.head] = nil
			q.head = (q.head + 1) % len(q.ring)
			q.n--
			q.mu.Unlock()
			return b, true
		}
		closed := q.closed
		q.mu.Unlock()
		if closed || ctx.Err() != nil {
			return nil, false
		}
		select {
		case <-q.wake:
		case <-q.end:
		case <-ctx.Done():
		}
	}
}

func (q *memQueue) done(*batch) {}

func (q *memQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		close(q.end)
	}
}
