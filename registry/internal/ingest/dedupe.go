package ingest

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// BatchIDHeader carries a batch's id; ReplayHeader answers a replay.
const (
	BatchIDHeader = "Vigil-Batch-Id"
	ReplayHeader  = "Vigil-Batch-Replay"
)

// maxBatchID bounds a batch id's length.
const maxBatchID = 128

// batchStore remembers batch ids; store.Fleet provides it.
type batchStore interface {
	RememberBatch(ctx context.Context, node, id string, at time.Time) (fresh bool, err error)
	ForgetBatches(ctx context.Context, before time.Time) (int64, error)
}

// batchForgetter is an optional capability of the store: forgetting one
// batch id again. With it, a batch whose write failed is not taken for a
// replay even after the registry restarts; without it, only this process
// remembers that the id was given back (see dedupe.claim).
type batchForgetter interface {
	ForgetBatch(ctx context.Context, node, id string) error
}

// dedupe drops replayed batches. A batch's id is claimed in the store
// (RememberBatch) before its points are written, so a replay arriving
// after a restart is recognised; if the write then fails the claim is
// given back, so the client's retry is written rather than dropped. A
// batch id being written by one request is refused to another at the same
// time (503, retry), so a retry racing a slow first attempt cannot be
// acknowledged as a replay of a write that then fails.
type dedupe struct {
	st batchStore

	mu       sync.Mutex
	inflight map[string]struct{}
	released map[string]time.Time // claims given back while the store kept them, by claim time
}

func newDedupe(st batchStore) *dedupe {
	return &dedupe{st: st, inflight: map[string]struct{}{}, released: map[string]time.Time{}}
}

// checkBatchID validates a Vigil-Batch-Id header value.
func checkBatchID(id string) error {
	if len(id) > maxBatchID {
		return errorf(http.StatusBadRequest, "%s is longer than %d bytes", BatchIDHeader, maxBatchID)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f {
			return errorf(http.StatusBadRequest, "%s may hold only printable ASCII without spaces", BatchIDHeader)
		}
	}
	return nil
}

// claim claims batch id of sender. It returns replay true if the batch was
// already written; otherwise the caller writes the batch and must call
// done with whether the write succeeded.
func (d *dedupe) claim(ctx context.Context, sender, id string, at time.Time) (replay bool, done func(ctx context.Context, ok bool), err error) {
	key := sender + "\x00" + id
	d.mu.Lock()
	if _, busy := d.inflight[key]; busy {
		d.mu.Unlock()
		return false, nil, &httpError{status: http.StatusServiceUnavailable, retryAfter: time.Second,
			msg: fmt.Sprintf("batch %q is being written by another request: retry", id)}
	}
	d.inflight[key] = struct{}{}
	d.mu.Unlock()
	end := func() {
		d.mu.Lock()
		delete(d.inflight, key)
		d.mu.Unlock()
	}

	fresh, err := d.st.RememberBatch(ctx, sender, id, at)
	if err != nil {
		end()
		return false, nil, fmt.Errorf("remembering batch %q: %w", id, err)
	}
	if !fresh {
		d.mu.Lock()
		_, fresh = d.released[key]
		d.mu.Unlock()
	}
	if !fresh {
		end()
		return true, nil, nil
	}
	return false, func(ctx context.Context, ok bool) {
		defer end()
		if ok {
			d.mu.Lock()
			delete(d.released, key)
			d.mu.Unlock()
			return
		}
		if f, can := d.st.(batchForgetter); can && f.ForgetBatch(context.WithoutCancel(ctx), sender, id) == nil {
			return
		}
		d.mu.Lock()
		d.released[key] = at
		d.mu.Unlock()
	}, nil
}

// forgetOld drops the ids remembered before before.
func (d *dedupe) forgetOld(ctx context.Context, before time.Time) (int64, error) {
	d.mu.Lock()
	for k, at := range d.released {
		if at.Before(before) {
			delete(d.released, k)
		}
	}
	d.mu.Unlock()
	n, err := d.st.ForgetBatches(ctx, before)
	if err != nil {
		return 0, fmt.Errorf("forgetting batch ids: %w", err)
	}
	return n, nil
}
