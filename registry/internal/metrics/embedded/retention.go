package embedded

import (
	"context"
	"slices"
	"time"
)

// Bounded work per retention pass: at most retentionPasses deletes of
// retentionBatch chunks each.
const (
	retentionBatch  = 10000
	retentionPasses = 10
)

func (st *Store) retentionLoop() {
	defer st.bg.Done()
	t := time.NewTicker(st.opts.RetentionInterval)
	defer t.Stop()
	for {
		select {
		case <-st.stop:
			return
		case <-t.C:
		}
		if err := st.enforceRetention(context.Background()); err != nil {
			st.log.Error("deleting expired metrics; will retry", "error", err)
		}
	}
}

// enforceRetention deletes chunks whose newest sample is older than the
// retention period, then the series left with no data anywhere that no
// write has named for as long.
func (st *Store) enforceRetention(ctx context.Context) error {
	cutoff := st.now() - int64(st.opts.Retention)
	var candidates []uint64
	for range retentionPasses {
		ids, n, err := st.db.deleteBefore(ctx, cutoff, retentionBatch)
		if err != nil {
			return err
		}
		candidates = append(candidates, ids...)
		if n < retentionBatch {
			break
		}
	}
	if len(candidates) == 0 {
		return nil
	}
	slices.Sort(candidates)
	candidates = slices.Compact(candidates)
	empty, err := st.db.withoutChunks(ctx, candidates)
	if err != nil {
		return err
	}
	d := st.dict
	d.mu.Lock()
	var gone []*series
	var ids []uint64
	for _, id := range empty {
		s := d.byID[id]
		if s == nil {
			ids = append(ids, id)
			continue
		}
		s.mu.Lock()
		idle := s.head == nil && len(s.frozen) == 0 && s.set.lastSeen.Load() < cutoff
		s.mu.Unlock()
		if idle {
			gone = append(gone, s)
			ids = append(ids, id)
		}
	}
	d.remove(gone)
	d.mu.Unlock()
	if len(ids) == 0 {
		return nil
	}
	return st.db.deleteSeries(ctx, ids)
}
