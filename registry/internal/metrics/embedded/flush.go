package embedded

import (
	"cmp"
	"context"
	"slices"
	"time"
)

// flushLoop moves frozen chunks to SQLite every FlushInterval, or sooner
// when many are queued.
func (st *Store) flushLoop() {
	defer st.bg.Done()
	t := time.NewTicker(st.opts.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-st.stop:
			return
		case <-t.C:
		case <-st.flushq.wake:
		}
		if err := st.flushOnce(context.Background(), false); err != nil {
			st.log.Error("flushing metrics chunks; will retry", "error", err)
		}
	}
}

// forceCuts cuts open chunks that hold the log or memory past their bounds:
// when they take more than MaxHeadBytes, the largest until they take half
// of it (cutting them all would free and re-create every series' chunk at
// once: a spike of memory and a long flush); past MaxWALBytes, or
// when the oldest segment is older than MaxChunkAge, those holding that
// segment's points.
func (st *Store) forceCuts() {
	ws := st.wal.state()
	if ws.oldest == nil {
		return
	}
	if st.mem.open() > st.opts.MaxHeadBytes {
		st.cutLargest(st.opts.MaxHeadBytes / 2)
		return
	}
	old := st.now()-ws.oldest.created > int64(st.opts.MaxChunkAge) && (!ws.oldestActive || ws.oldest.size > 0)
	if ws.bytes <= st.opts.MaxWALBytes && !old {
		return
	}
	if ws.oldestActive {
		st.wal.requestRoll()
	}
	st.cutOlder(ws.oldest.num)
}

// cutLargest cuts open chunks, the largest first (the oldest of equal
// ones), until the open ones take at most target bytes.
func (st *Store) cutLargest(target int64) {
	type open struct {
		s    *series
		size int
		seq  uint64
	}
	var heads []open
	for _, s := range st.dict.all() {
		s.mu.Lock()
		if c := s.head; c != nil {
			heads = append(heads, open{s: s, size: cap(c.b), seq: c.seq})
		}
		s.mu.Unlock()
	}
	slices.SortFunc(heads, func(a, b open) int { return cmp.Or(cmp.Compare(b.size, a.size), cmp.Compare(a.seq, b.seq)) })
	for _, h := range heads {
		if st.mem.open() <= target {
			return
		}
		h.s.mu.Lock()
		st.cutLocked(h.s)
		h.s.mu.Unlock()
	}
}

// flushChunks is the most chunks one flush transaction writes. When
// MaxHeadBytes cuts every open chunk at once (hundreds of thousands with a
// large fleet), one transaction of them all would hold every frozen chunk,
// and the writes waiting for room, for seconds; in parts, each part's
// memory is freed as soon as it is committed. A variable for tests.
var flushChunks = 16384

// flushOnce writes every frozen chunk (with all, every head chunk) and the
// new series to SQLite, in transactions of at most flushChunks chunks; the
// last one records which log segments that makes redundant, which are
// then deleted.
func (st *Store) flushOnce(ctx context.Context, all bool) error {
	st.flushMu.Lock()
	defer st.flushMu.Unlock()
	if all {
		st.cutOlder(0)
	} else {
		st.forceCuts()
	}
	items := st.flushq.take()
	dropping := map[*segment]int{}
	for _, it := range items {
		dropping[it.c.firstSeg]++
	}
	// Every series defined in a segment up to through is in the dictionary
	// by now, so taking the unpersisted list after this is enough.
	through := st.wal.checkpointable(dropping)
	d := st.dict
	d.mu.Lock()
	series, next := d.unpersisted, d.nextID
	d.unpersisted = nil
	d.mu.Unlock()
	if len(items) == 0 && len(series) == 0 && through <= st.checkpoint {
		return nil
	}
	for start := 0; ; start += flushChunks {
		part := items[start:min(start+flushChunks, len(items))]
		last := start+flushChunks >= len(items)
		fb := flushBatch{items: part, nextSeries: next}
		if start == 0 {
			fb.series = series
		}
		// Only the last part's commit makes the segments redundant.
		if last && through > st.checkpoint {
			fb.checkpoint = through
		}
		if err := st.db.flush(ctx, fb); err != nil {
			st.flushq.putBack(items[start:])
			if start == 0 {
				d.mu.Lock()
				d.unpersisted = append(series, d.unpersisted...)
				d.mu.Unlock()
			}
			return err
		}
		if len(part) == len(items) {
			st.wal.dropChunks(dropping)
		} else {
			partDropping := map[*segment]int{}
			for _, it := range part {
				partDropping[it.c.firstSeg]++
			}
			st.wal.dropChunks(partDropping)
		}
		st.unfreeze(part)
		st.signalRoom()
		if last {
			break
		}
	}
	// The pages a flush wrote stay in SQLite's page cache, which bounds
	// them by a count of pages shared by every connection of the process:
	// beside the catalog's 4 KiB pages, the writer's 64 KiB ones took that
	// whole budget, megabytes more every second of ingest. Nothing reads
	// them back soon (queries use the readers), so they are let go.
	if err := st.db.releaseMemory(ctx); err != nil {
		st.log.Debug("releasing SQLite's cache after a flush", "error", err)
	}
	if through > st.checkpoint {
		st.checkpoint = through
		return st.wal.removeThrough(through)
	}
	return nil
}
