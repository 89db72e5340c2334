package ingest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/registry/internal/metrics"
)

// blockingStore holds every Write until release is closed.
type blockingStore struct {
	entered chan struct{}
	release chan struct{}
}

func (s *blockingStore) Write(ctx context.Context, _ []metrics.Point) error {
	s.entered <- struct{}{}
	<-s.release
	return nil
}

// TestSameBatchTwiceAtOnce checks that a batch id being written is refused
// to a second request until the first is done, rather than acknowledged as
// a replay of a write that may still fail.
func TestSameBatchTwiceAtOnce(t *testing.T) {
	ms := &blockingStore{entered: make(chan struct{}, 1), release: make(chan struct{})}
	f := newFixture(t, Config{Metrics: ms})
	batch := map[string]string{BatchIDHeader: "b-1"}
	first := make(chan response, 1)
	go func() { first <- f.write("agent", "cpu v=1 1\n", batch) }()
	select {
	case <-ms.entered:
	case <-time.After(20 * time.Second):
		t.Fatal("the first write did not reach the metrics store within 20 s")
	}
	second := f.write("agent", "cpu v=1 1\n", batch)
	if second.status != http.StatusServiceUnavailable || second.header.Get("Retry-After") != "1" {
		t.Errorf("second: %d Retry-After %q %s, want 503 and 1", second.status, second.header.Get("Retry-After"), second.body)
	}
	close(ms.release)
	if r := <-first; r.status != http.StatusNoContent {
		t.Errorf("first: %d %s", r.status, r.body)
	}
	if third := f.write("agent", "cpu v=1 1\n", batch); third.header.Get(ReplayHeader) != "true" {
		t.Errorf("third: %d %v, want a replay", third.status, third.header)
	}
}

// fakeBatches is a batchStore, with ForgetBatch when forgets is not nil.
type fakeBatches struct {
	seen    map[string]bool
	forgets *[]string
}

func (s *fakeBatches) RememberBatch(_ context.Context, node, id string, _ time.Time) (bool, error) {
	if s.seen[node+"/"+id] {
		return false, nil
	}
	s.seen[node+"/"+id] = true
	return true, nil
}

func (s *fakeBatches) ForgetBatches(context.Context, time.Time) (int64, error) { return 0, nil }

type forgettingBatches struct{ *fakeBatches }

func (s forgettingBatches) ForgetBatch(_ context.Context, node, id string) error {
	delete(s.seen, node+"/"+id)
	*s.forgets = append(*s.forgets, node+"/"+id)
	return nil
}

// TestGivingBackAClaim checks both ways a failed write gives its batch id
// back: the store's ForgetBatch when it has one, else the process's memory.
func TestGivingBackAClaim(t *testing.T) {
	ctx := context.Background()
	var forgets []string
	for _, tc := range []struct {
		name  string
		st    batchStore
		inMem int // claims remembered in memory as given back
	}{
		{"store without ForgetBatch", &fakeBatches{seen: map[string]bool{}}, 1},
		{"store with ForgetBatch", forgettingBatches{&fakeBatches{seen: map[string]bool{}, forgets: &forgets}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDedupe(tc.st)
			replay, done, err := d.claim(ctx, "n", "b", time.Unix(100, 0))
			if err != nil || replay {
				t.Fatalf("claim: %v %v", replay, err)
			}
			done(ctx, false) // the write failed
			if len(d.released) != tc.inMem {
				t.Errorf("%d claims given back in memory, want %d", len(d.released), tc.inMem)
			}
			replay, done, err = d.claim(ctx, "n", "b", time.Unix(101, 0))
			if err != nil || replay {
				t.Fatalf("retry: replay %v, %v; want it written", replay, err)
			}
			done(ctx, true)
			if replay, _, _ := d.claim(ctx, "n", "b", time.Unix(102, 0)); !replay {
				t.Error("after a successful write the batch is not a replay")
			}
			if len(d.released) != 0 || len(d.inflight) != 0 {
				t.Errorf("left %d given back, %d in flight", len(d.released), len(d.inflight))
			}
		})
	}
	if diff := cmp.Diff([]string{"n/b"}, forgets); diff != "" {
		t.Errorf("ForgetBatch calls (-want +got):\n%s", diff)
	}
}

func TestForgetOldDropsGivenBackClaims(t *testing.T) {
	ctx := context.Background()
	d := newDedupe(&fakeBatches{seen: map[string]bool{}})
	_, done, err := d.claim(ctx, "n", "b", time.Unix(100, 0))
	if err != nil {
		t.Fatal(err)
	}
	done(ctx, false)
	if _, err := d.forgetOld(ctx, time.Unix(100, 0)); err != nil || len(d.released) != 1 {
		t.Fatalf("forgetOld before the claim: %v, %d left", err, len(d.released))
	}
	if _, err := d.forgetOld(ctx, time.Unix(101, 0)); err != nil || len(d.released) != 0 {
		t.Fatalf("forgetOld after the claim: %v, %d left", err, len(d.released))
	}
}
