package embedded

import (
	"context"
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
// all of them when they take more than MaxHeadBytes; past MaxWALBytes, or
// when the oldest segment is older than MaxChunkAge, those holding that
// segment's points.
func (st *Store) forceCuts() {
	ws := st.wal.state()
	if ws.oldest == nil {
		return
	}
	if st.mem.open() > st.opts.MaxHeadBytes {
		st.cutOlder(0)
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

// flushOnce writes every frozen chunk (with all, every head chunk) and the
// new series to SQLite in one transaction, recording which log segments
// that makes redundant, then deletes them.
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
	fb := flushBatch{series: series, items: items, nextSeries: next}
	if through > st.checkpoint {
		fb.checkpoint = through
	}
	if err := st.db.flush(ctx, fb); err != nil {
		st.flushq.putBack(items)
		d.mu.Lock()
		d.unpersisted = append(series, d.unpersisted...)
		d.mu.Unlock()
		return err
	}
	st.wal.dropChunks(dropping)
	st.unfreeze(items)
	st.signalRoom()
	if fb.checkpoint > 0 {
		st.checkpoint = fb.checkpoint
		return st.wal.removeThrough(fb.checkpoint)
	}
	return nil
}
