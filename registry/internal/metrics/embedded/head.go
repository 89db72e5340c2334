package embedded

import (
	"slices"
	"sync"

	"github.com/vigilmon/vigil/registry/internal/metrics"
)

// maxChunkBytes cuts a chunk early whatever its sample count (long strings).
const maxChunkBytes = 16 << 10

// headChunk is a chunk in memory: open for appends while it is its series'
// head, then frozen until a flush has it in SQLite. seq orders a series'
// chunks by write and is the chunk's id in SQLite.
type headChunk struct {
	seq      uint64
	firstSeg *segment // the WAL segment of its first sample
	lastLSN  uint64   // the LSN of the record of its last sample
	appender
}

// appendSample adds one sample, from the record at lsn in WAL segment seg,
// to s's head. Records are applied in LSN order.
func (st *Store) appendSample(s *series, t int64, v metrics.Value, seg *segment, lsn uint64) {
	s.mu.Lock()
	c := s.head
	if c != nil && c.kind != v.Kind {
		st.cutLocked(s)
		c = nil
	}
	if c == nil {
		c = &headChunk{seq: st.seq.Add(1), firstSeg: seg, appender: newAppender(v.Kind, st.chunkCap(s))}
		st.wal.addChunk(seg)
		st.mem.total.Add(int64(cap(c.b)))
		s.head = c
	}
	c.lastLSN = lsn
	before := cap(c.b)
	c.append(t, v)
	if grown := cap(c.b) - before; grown != 0 {
		st.mem.total.Add(int64(grown))
	}
	if c.n >= st.opts.ChunkSamples || len(c.b) >= maxChunkBytes {
		st.cutLocked(s)
	}
	s.mu.Unlock()
}

// chunkCap guesses a new chunk's capacity from the last one cut.
func (st *Store) chunkCap(s *series) int {
	if s.hint > 0 {
		return min(int(s.hint)*9/8+16, maxChunkBytes+64)
	}
	return 64
}

// cutLocked freezes s's head chunk and queues it for the flusher. The caller
// holds s.mu.
func (st *Store) cutLocked(s *series) {
	c := s.head
	if c == nil {
		return
	}
	s.head = nil
	if c.n >= st.opts.ChunkSamples {
		s.hint = int32(len(c.b))
	}
	s.frozen = append(s.frozen, c)
	st.mem.frozen.Add(int64(cap(c.b)))
	st.flushq.push(flushItem{s: s, c: c})
}

// cutOlder cuts every open chunk whose first sample is in segment through
// or earlier (through 0: every chunk).
func (st *Store) cutOlder(through uint64) {
	for _, s := range st.dict.all() {
		s.mu.Lock()
		if s.head != nil && (through == 0 || s.head.firstSeg.num <= through) {
			st.cutLocked(s)
		}
		s.mu.Unlock()
	}
}

// flushItem is a frozen chunk waiting for the flusher.
type flushItem struct {
	s *series
	c *headChunk
}

// flushQueue holds frozen chunks in the order they were cut.
type flushQueue struct {
	mu    sync.Mutex
	items []flushItem
	wake  chan struct{}
}

// flushWakeAt is how many queued chunks wake the flusher before its tick.
const flushWakeAt = 4096

func (q *flushQueue) push(it flushItem) {
	q.mu.Lock()
	q.items = append(q.items, it)
	n := len(q.items)
	q.mu.Unlock()
	if n >= flushWakeAt {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

func (q *flushQueue) take() []flushItem {
	q.mu.Lock()
	defer q.mu.Unlock()
	it := q.items
	q.items = nil
	return it
}

// putBack returns items whose flush failed to the front of the queue.
func (q *flushQueue) putBack(items []flushItem) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.items = append(items, q.items...)
}

// unfreeze drops flushed chunks from their series and the memory count.
func (st *Store) unfreeze(items []flushItem) {
	var freed int64
	for _, it := range items {
		s := it.s
		s.mu.Lock()
		if i := slices.Index(s.frozen, it.c); i >= 0 {
			s.frozen = slices.Delete(s.frozen, i, i+1)
		}
		if len(s.frozen) == 0 {
			s.frozen = nil
		}
		s.mu.Unlock()
		freed += int64(cap(it.c.b))
	}
	st.mem.frozen.Add(-freed)
	st.mem.total.Add(-freed)
}
