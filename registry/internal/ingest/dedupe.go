package ingest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/vigilmon/vigil/registry/internal/store"
)

// BatchIDHeader carries a batch's id; ReplayHeader answers a replay.
const (
	BatchIDHeader = "Vigil-Batch-Id"
	ReplayHeader  = "Vigil-Batch-Replay"
)

// maxBatchID bounds a batch id's length.
const maxBatchID = 128

// Confirmations of stored batches are flushed to the store every
// confirmEvery, and as soon as confirmBatch of them are queued.
const (
	confirmEvery = 100 * time.Millisecond
	confirmBatch = 1000
)

// batchStore is the batch-claim part of store.Fleet.
type batchStore interface {
	RememberBatch(ctx context.Context, node, id, owner string, at time.Time) (store.BatchClaim, error)
	TakeOverBatch(ctx context.Context, node, id, from, to string) (bool, error)
	ConfirmBatches(ctx context.Context, keys []store.BatchKey) error
	ForgetBatch(ctx context.Context, node, id string) error
	ForgetBatches(ctx context.Context, before time.Time) (int64, error)
}

// dedupe drops replayed batches without ever dropping a batch that was not
// stored. A batch's id is claimed in the store (RememberBatch) for this
// process, the owner, before its points are written, so a replay arriving
// after a restart or at another registry is recognised; the claim is
// confirmed once the points are stored. Writing a batch twice is harmless
// (the metrics stores overwrite a point with the same series, field and
// time), losing one is not, so:
//   - a confirmed claim is a replay;
//   - an unconfirmed claim of this process is a replay if this process
//     stored the batch (its confirmation is queued, see flush), and is
//     written again otherwise (its write failed and the claim could not be
//     given back);
//   - an unconfirmed claim of another owner (a registry killed between claim
//     and confirmation, or another replica) is taken over and written
//     again;
//   - a claim whose write fails is given back (ForgetBatch), so the
//     client's retry is written rather than dropped.
//
// Confirmations need not be durable before the client is answered (one
// lost only means a retry is written again), so they are queued and
// flushed in one store call every confirmEvery. A batch id being written
// by one request is refused to another at the same time (503, retry), so a
// retry racing a slow first attempt cannot be acknowledged as a replay of a
// write that then fails.
type dedupe struct {
	st    batchStore
	owner string // this process's claims', random per Handler
	log   hclog.Logger
	kick  chan struct{} // signalled when confirmBatch confirmations are queued

	flushing sync.Mutex // one flush at a time

	mu        sync.Mutex
	inflight  map[string]struct{}
	confirmed map[string]store.BatchKey // stored by this process, confirmation not yet flushed
}

func newDedupe(st batchStore, owner string, log hclog.Logger) *dedupe {
	return &dedupe{st: st, owner: owner, log: log, kick: make(chan struct{}, 1),
		inflight: map[string]struct{}{}, confirmed: map[string]store.BatchKey{}}
}

// newOwner returns a random id for the claims of one registry process.
func newOwner() string {
	b := make([]byte, 8)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
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

// busyError answers a request for a batch another request is writing.
func busyError(id string) error {
	return &httpError{status: http.StatusServiceUnavailable, retryAfter: time.Second,
		msg: fmt.Sprintf("batch %q is being written by another request: retry", id)}
}

// claim claims batch id of sender. It returns replay true if the batch was
// already written; otherwise the caller writes the batch and must call
// done with whether the write succeeded.
func (d *dedupe) claim(ctx context.Context, sender, id string, at time.Time) (replay bool, done func(ctx context.Context, ok bool), err error) {
	key := sender + "\x00" + id
	d.mu.Lock()
	if _, busy := d.inflight[key]; busy {
		d.mu.Unlock()
		return false, nil, busyError(id)
	}
	d.inflight[key] = struct{}{}
	d.mu.Unlock()
	write, err := d.decide(ctx, key, sender, id, at)
	if err != nil || !write {
		d.mu.Lock()
		delete(d.inflight, key)
		d.mu.Unlock()
		return err == nil, nil, err
	}
	return false, func(ctx context.Context, ok bool) {
		if ok {
			d.mu.Lock()
			d.confirmed[key] = store.BatchKey{Node: sender, ID: id}
			queued := len(d.confirmed)
			delete(d.inflight, key)
			d.mu.Unlock()
			if queued >= confirmBatch {
				select {
				case d.kick <- struct{}{}:
				default:
				}
			}
			return
		}
		// If the claim cannot be given back it stays this process's,
		// unconfirmed: a retry here is written again (decide), one at
		// another registry takes it over.
		if err := d.st.ForgetBatch(context.WithoutCancel(ctx), sender, id); err != nil {
			d.log.Warn("giving back the id of a batch that was not stored", "node", sender, "batch", id, "error", err)
		}
		d.mu.Lock()
		delete(d.inflight, key)
		d.mu.Unlock()
	}, nil
}

// decide claims batch id of sender (key) in the store and says whether the
// batch must be written (false: it is a replay).
func (d *dedupe) decide(ctx context.Context, key, sender, id string, at time.Time) (write bool, err error) {
	c, err := d.st.RememberBatch(ctx, sender, id, d.owner, at)
	if err != nil {
		return false, fmt.Errorf("remembering batch %q: %w", id, err)
	}
	switch {
	case c.Fresh:
		return true, nil
	case c.Confirmed:
		return false, nil
	case c.Owner == d.owner:
		d.mu.Lock()
		_, stored := d.confirmed[key]
		d.mu.Unlock()
		return !stored, nil
	}
	took, err := d.st.TakeOverBatch(ctx, sender, id, c.Owner, d.owner)
	if err != nil {
		return false, fmt.Errorf("taking over batch %q: %w", id, err)
	}
	if !took { // another registry took it over first, or it was confirmed or given back since
		return false, busyError(id)
	}
	d.log.Info("storing a batch again: the registry that claimed it stopped before confirming it was stored",
		"node", sender, "batch", id, "claimed_by", c.Owner)
	return true, nil
}

// flush confirms, in one store call, the claims of the batches stored
// since the last flush. On failure they stay queued for the next one.
func (d *dedupe) flush(ctx context.Context) error {
	d.flushing.Lock()
	defer d.flushing.Unlock()
	d.mu.Lock()
	if len(d.confirmed) == 0 {
		d.mu.Unlock()
		return nil
	}
	names := make([]string, 0, len(d.confirmed))
	keys := make([]store.BatchKey, 0, len(d.confirmed))
	for name, k := range d.confirmed {
		names = append(names, name)
		keys = append(keys, k)
	}
	d.mu.Unlock()
	if err := d.st.ConfirmBatches(ctx, keys); err != nil {
		return fmt.Errorf("confirming %d stored batches: %w", len(keys), err)
	}
	d.mu.Lock()
	for _, name := range names {
		delete(d.confirmed, name)
	}
	d.mu.Unlock()
	return nil
}

// forgetOld drops the ids remembered before before.
func (d *dedupe) forgetOld(ctx context.Context, before time.Time) (int64, error) {
	n, err := d.st.ForgetBatches(ctx, before)
	if err != nil {
		return 0, fmt.Errorf("forgetting batch ids: %w", err)
	}
	return n, nil
}
