package pipeline

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func seqs(bs []*batch) []uint64 {
	var out []uint64
	for _, b := range bs {
		out = append(out, b.seq)
	}
	return out
}

func TestMemQueue(t *testing.T) {
	q := newMemQueue(2)
	var evicted []*batch
	for i := uint64(1); i <= 5; i++ {
		evicted = append(evicted, q.push(&batch{seq: i})...)
	}
	if diff := cmp.Diff([]uint64{1, 2, 3}, seqs(evicted)); diff != "" {
		t.Errorf("evicted (-want +got):\n%s", diff)
	}

	// Queued batches are handed out even after ctx is done and after close.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b, ok := q.next(ctx)
	if !ok || b.seq != 4 {
		t.Fatalf("next = %v, %v; want batch 4", b, ok)
	}
	q.close()
	q.close() // twice is fine
	var got []*batch
	for {
		b, ok := q.next(context.Background())
		if !ok {
			break
		}
		got = append(got, b)
	}
	if diff := cmp.Diff([]uint64{5}, seqs(got)); diff != "" {
		t.Errorf("after close (-want +got):\n%s", diff)
	}
}

func TestMemQueueNextBlocks(t *testing.T) {
	q := newMemQueue(1)
	got := make(chan uint64)
	go func() {
		b, ok := q.next(context.Background())
		if !ok {
			got <- 0
			return
		}
		got <- b.seq
	}()
	q.push(&batch{seq: 7})
	if s := <-got; s != 7 {
		t.Errorf("next woke with %d, want 7", s)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan bool)
	go func() {
		_, ok := q.next(ctx)
		done <- ok
	}()
	cancel()
	if ok := <-done; ok {
		t.Error("next on an empty queue returned a batch after ctx was done")
	}
}
