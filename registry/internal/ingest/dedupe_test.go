package ingest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"

	"github.com/vigilmon/vigil/registry/internal/metrics"
	"github.com/vigilmon/vigil/registry/internal/metrics/embedded"
	"github.com/vigilmon/vigil/registry/internal/store"
	"github.com/vigilmon/vigil/test/syncbuf"
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

// fakeClaims is a batchStore in memory.
type fakeClaims struct {
	claims       map[store.BatchKey]store.BatchClaim
	loseTakeOver bool  // TakeOverBatch answers false, as when another registry was first
	forgetErr    error // ForgetBatch fails with it
	confirmErr   error // ConfirmBatches fails with it
	forgets      []store.BatchKey
	confirms     [][]store.BatchKey
}

func newFakeClaims() *fakeClaims { return &fakeClaims{claims: map[store.BatchKey]store.BatchClaim{}} }

func (s *fakeClaims) RememberBatch(_ context.Context, node, id, owner string, _ time.Time) (store.BatchClaim, error) {
	k := store.BatchKey{Node: node, ID: id}
	if c, ok := s.claims[k]; ok {
		return c, nil
	}
	s.claims[k] = store.BatchClaim{Owner: owner}
	return store.BatchClaim{Fresh: true, Owner: owner}, nil
}

func (s *fakeClaims) TakeOverBatch(_ context.Context, node, id, from, to string) (bool, error) {
	k := store.BatchKey{Node: node, ID: id}
	c, ok := s.claims[k]
	if s.loseTakeOver || !ok || c.Owner != from || c.Confirmed {
		return false, nil
	}
	s.claims[k] = store.BatchClaim{Owner: to}
	return true, nil
}

func (s *fakeClaims) ConfirmBatches(_ context.Context, keys []store.BatchKey) error {
	if s.confirmErr != nil {
		return s.confirmErr
	}
	s.confirms = append(s.confirms, keys)
	for _, k := range keys {
		if c, ok := s.claims[k]; ok {
			c.Confirmed = true
			s.claims[k] = c
		}
	}
	return nil
}

func (s *fakeClaims) ForgetBatch(_ context.Context, node, id string) error {
	s.forgets = append(s.forgets, store.BatchKey{Node: node, ID: id})
	if s.forgetErr != nil {
		return s.forgetErr
	}
	delete(s.claims, store.BatchKey{Node: node, ID: id})
	return nil
}

func (s *fakeClaims) ForgetBatches(context.Context, time.Time) (int64, error) { return 0, nil }

// TestClaimDecides checks what claim makes of each state a batch id's
// claim can be found in.
func TestClaimDecides(t *testing.T) {
	ctx := context.Background()
	key := store.BatchKey{Node: "n", ID: "b"}
	type outcome struct {
		Replay bool
		Status int              // of the error, 0 for none
		Claim  store.BatchClaim // in the store afterwards
	}
	for _, tc := range []struct {
		name         string
		found        *store.BatchClaim // nil: none
		queued       bool              // this process's confirmation of it is queued
		loseTakeOver bool
		want         outcome
	}{
		{name: "fresh", want: outcome{Claim: store.BatchClaim{Owner: "self"}}},
		{name: "confirmed by another", found: &store.BatchClaim{Owner: "dead", Confirmed: true},
			want: outcome{Replay: true, Claim: store.BatchClaim{Owner: "dead", Confirmed: true}}},
		{name: "remembered before claims had owners", found: &store.BatchClaim{Confirmed: true},
			want: outcome{Replay: true, Claim: store.BatchClaim{Confirmed: true}}},
		{name: "ours, stored, confirmation queued", found: &store.BatchClaim{Owner: "self"}, queued: true,
			want: outcome{Replay: true, Claim: store.BatchClaim{Owner: "self"}}},
		{name: "ours, not stored, not given back", found: &store.BatchClaim{Owner: "self"},
			want: outcome{Claim: store.BatchClaim{Owner: "self"}}},
		{name: "another's, unconfirmed: taken over", found: &store.BatchClaim{Owner: "dead"},
			want: outcome{Claim: store.BatchClaim{Owner: "self"}}},
		{name: "another's, take-over lost", found: &store.BatchClaim{Owner: "dead"}, loseTakeOver: true,
			want: outcome{Status: http.StatusServiceUnavailable, Claim: store.BatchClaim{Owner: "dead"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newFakeClaims()
			st.loseTakeOver = tc.loseTakeOver
			if tc.found != nil {
				st.claims[key] = *tc.found
			}
			var logs syncbuf.Buffer
			d := newDedupe(st, "self", hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Info}))
			if tc.queued {
				d.confirmed["n\x00b"] = key
			}
			replay, done, err := d.claim(ctx, "n", "b", time.Unix(100, 0))
			got := outcome{Replay: replay, Claim: st.claims[key]}
			var he *httpError
			if errors.As(err, &he) {
				got.Status = he.status
			} else if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if write := !replay && err == nil; write != (done != nil) {
				t.Errorf("done is %v for a write %v", done != nil, write)
			}
			if done != nil {
				done(ctx, true)
			}
			if len(d.inflight) != 0 {
				t.Errorf("%d claims left in flight", len(d.inflight))
			}
			took := strings.Count(logs.String(), "the registry that claimed it stopped")
			if want := map[bool]int{true: 1}[tc.found != nil && tc.found.Owner == "dead" && !tc.found.Confirmed && !tc.loseTakeOver]; took != want {
				t.Errorf("%d take-over log lines, want %d:\n%s", took, want, logs.String())
			}
		})
	}
}

// TestGivingBackAClaim checks that a failed write gives its batch id back,
// and that a claim that could not be given back is written again; then
// that a stored batch is a replay before and after its confirmation is
// flushed.
func TestGivingBackAClaim(t *testing.T) {
	ctx := context.Background()
	key := store.BatchKey{Node: "n", ID: "b"}
	for _, tc := range []struct {
		name      string
		forgetErr error
	}{
		{"given back", nil},
		{"cannot be given back", errors.New("catalog down")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newFakeClaims()
			st.forgetErr = tc.forgetErr
			d := newDedupe(st, "self", hclog.NewNullLogger())
			replay, done, err := d.claim(ctx, "n", "b", time.Unix(100, 0))
			if err != nil || replay {
				t.Fatalf("claim: %v %v", replay, err)
			}
			done(ctx, false) // the write failed
			replay, done, err = d.claim(ctx, "n", "b", time.Unix(101, 0))
			if err != nil || replay {
				t.Fatalf("retry: replay %v, %v; want it written", replay, err)
			}
			done(ctx, true)
			if replay, _, _ := d.claim(ctx, "n", "b", time.Unix(102, 0)); !replay {
				t.Error("after a successful write the batch is not a replay")
			}
			if err := d.flush(ctx); err != nil {
				t.Fatal(err)
			}
			if replay, _, _ := d.claim(ctx, "n", "b", time.Unix(103, 0)); !replay {
				t.Error("after its confirmation is flushed the batch is not a replay")
			}
			if diff := cmp.Diff([]store.BatchKey{key}, st.forgets); diff != "" {
				t.Errorf("ForgetBatch calls (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([][]store.BatchKey{{key}}, st.confirms); diff != "" {
				t.Errorf("ConfirmBatches calls (-want +got):\n%s", diff)
			}
			if len(d.inflight) != 0 || len(d.confirmed) != 0 {
				t.Errorf("left %d in flight, %d confirmations queued", len(d.inflight), len(d.confirmed))
			}
		})
	}
}

// TestFlush checks that confirmations are flushed in one call, kept
// queued when it fails, and that a full queue asks for a flush.
func TestFlush(t *testing.T) {
	ctx := context.Background()
	st := newFakeClaims()
	d := newDedupe(st, "self", hclog.NewNullLogger())
	if err := d.flush(ctx); err != nil || len(st.confirms) != 0 {
		t.Fatalf("flush of nothing: %v, %d calls", err, len(st.confirms))
	}
	for i := range confirmBatch {
		_, done, err := d.claim(ctx, "n", fmt.Sprint(i), time.Unix(100, 0))
		if err != nil {
			t.Fatal(err)
		}
		done(ctx, true)
		if kicked := len(d.kick) == 1; kicked != (i == confirmBatch-1) {
			t.Fatalf("after %d stored batches, a flush asked for: %v", i+1, kicked)
		}
	}
	st.confirmErr = errors.New("catalog down")
	if err := d.flush(ctx); err == nil || len(d.confirmed) != confirmBatch {
		t.Fatalf("failed flush: %v, %d left queued, want an error and %d", err, len(d.confirmed), confirmBatch)
	}
	st.confirmErr = nil
	if err := d.flush(ctx); err != nil || len(d.confirmed) != 0 {
		t.Fatalf("flush: %v, %d left queued", err, len(d.confirmed))
	}
	if len(st.confirms) != 1 || len(st.confirms[0]) != confirmBatch {
		t.Errorf("ConfirmBatches calls: %d, want one of %d keys", len(st.confirms), confirmBatch)
	}
}

// another starts a second handler on f's catalog, as another registry
// process would: cfg's Catalog (f's if nil), Metrics (f.metrics if nil),
// f's clock; the same tokens.
func (f *fixture) another(t *testing.T, cfg Config) *fixture {
	t.Helper()
	if cfg.Catalog == nil {
		cfg.Catalog = f.cat
	}
	if cfg.Metrics == nil {
		cfg.Metrics = f.metrics
	}
	cfg.Now = f.clock.now
	g := *f
	g.h = New(cfg)
	t.Cleanup(func() { g.h.Close() })
	srv := httptest.NewServer(g.h)
	t.Cleanup(srv.Close)
	g.url = srv.URL
	return &g
}

// claimOf reads the claim of web-1's batch id without making one.
func (f *fixture) claimOf(t *testing.T, id string) store.BatchClaim {
	t.Helper()
	c, err := f.cat.RememberBatch(context.Background(), "web-1", id, "probe", f.clock.now())
	if err != nil {
		t.Fatal(err)
	}
	if c.Fresh {
		t.Fatalf("batch %q was not claimed", id)
	}
	return c
}

// TestTakeOverDeadClaim: a batch claimed by a registry that stopped before
// storing it is stored, with one log line saying why, and then a replay.
func TestTakeOverDeadClaim(t *testing.T) {
	var logs syncbuf.Buffer
	f := newFixture(t, Config{Logger: hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Info})})
	if _, err := f.cat.RememberBatch(context.Background(), "web-1", "b-1", "dead-registry", f.clock.now()); err != nil {
		t.Fatal(err)
	}
	batch := map[string]string{BatchIDHeader: "b-1"}
	if r := f.write("agent", "cpu v=1 1\n", batch); r.status != http.StatusNoContent || r.header.Get(ReplayHeader) != "" {
		t.Fatalf("first: %d %v %s, want 204, stored", r.status, r.header, r.body)
	}
	if diff := cmp.Diff([]string{"cpu node=web-1 v=1 1"}, f.metrics.got()); diff != "" {
		t.Errorf("stored (-want +got):\n%s", diff)
	}
	if r := f.write("agent", "cpu v=1 1\n", batch); r.status != http.StatusNoContent || r.header.Get(ReplayHeader) != "true" {
		t.Errorf("second: %d %v %s, want a replay", r.status, r.header, r.body)
	}
	if n := strings.Count(logs.String(), "the registry that claimed it stopped before confirming it"); n != 1 {
		t.Errorf("%d take-over log lines, want 1:\n%s", n, logs.String())
	}
	if got := f.h.Stats().PointsStored; got != 1 {
		t.Errorf("PointsStored %d, want 1", got)
	}
}

// TestConfirmationsSurviveRestart: Close flushes the confirmations, so a
// new registry process takes a retry for the replay it is.
func TestConfirmationsSurviveRestart(t *testing.T) {
	f := newFixture(t, Config{})
	batch := map[string]string{BatchIDHeader: "b-1"}
	if r := f.write("agent", "cpu v=1 1\n", batch); r.status != http.StatusNoContent {
		t.Fatalf("write: %d %s", r.status, r.body)
	}
	if err := f.h.Close(); err != nil {
		t.Fatal(err)
	}
	g := f.another(t, Config{})
	if r := g.write("agent", "cpu v=1 1\n", batch); r.status != http.StatusNoContent || r.header.Get(ReplayHeader) != "true" {
		t.Errorf("after a restart: %d %v %s, want a replay", r.status, r.header, r.body)
	}
	if got := len(f.metrics.got()); got != 1 {
		t.Errorf("%d points stored, want 1", got)
	}
}

// TestConfirmLoop: a started handler confirms a stored batch's claim in
// the catalog on its own.
func TestConfirmLoop(t *testing.T) {
	f := newFixture(t, Config{})
	f.h.Start()
	if r := f.write("agent", "cpu v=1 1\n", map[string]string{BatchIDHeader: "b-1"}); r.status != http.StatusNoContent {
		t.Fatalf("write: %d %s", r.status, r.body)
	}
	for deadline := time.Now().Add(20 * time.Second); !f.claimOf(t, "b-1").Confirmed; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the stored batch's claim was not confirmed within 20 s")
		}
	}
}

// TestLostConfirmation: a registry killed before flushing its
// confirmations leaves claims that the next process stores again; with
// the embedded metrics store the points are overwritten, not doubled.
func TestLostConfirmation(t *testing.T) {
	ms, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ms.Close() })
	f := newFixture(t, Config{Metrics: ms}) // never started: its confirmation stays queued
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	body := fmt.Sprintf("cpu,cpu=cpu0 usage=1.5 %d\ncpu,cpu=cpu0 usage=2.5 %d\n", t0.Unix(), t0.Unix()+1)
	post := func(f *fixture) response {
		return f.do(request{method: "POST", path: "/v1/write?precision=s", who: "agent", body: []byte(body),
			header: map[string]string{BatchIDHeader: "b-1"}})
	}
	if r := post(f); r.status != http.StatusNoContent || r.header.Get(ReplayHeader) != "" {
		t.Fatalf("first registry: %d %v %s, want stored", r.status, r.header, r.body)
	}
	if c := f.claimOf(t, "b-1"); c.Confirmed || c.Owner != f.h.dedupe.owner {
		t.Fatalf("claim after the first registry: %+v, want its own, unconfirmed", c)
	}
	g := f.another(t, Config{Metrics: ms}) // the first was "killed": not closed
	if r := post(g); r.status != http.StatusNoContent || r.header.Get(ReplayHeader) != "" {
		t.Fatalf("second registry: %d %v %s, want stored again", r.status, r.header, r.body)
	}
	if r := post(g); r.header.Get(ReplayHeader) != "true" {
		t.Errorf("second registry, retry: %d %v %s, want a replay", r.status, r.header, r.body)
	}
	got, err := ms.Query(context.Background(), metrics.Query{
		Node: "web-1", Measurement: "cpu", Field: "usage", From: t0.Add(-time.Minute), To: t0.Add(time.Minute),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []metrics.Series{{
		Measurement: "cpu", Field: "usage", Tags: map[string]string{"cpu": "cpu0", "node": "web-1"},
		Samples: []metrics.Sample{{Time: t0, Value: 1.5}, {Time: t0.Add(time.Second), Value: 2.5}},
	}}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("query (-want +got):\n%s", diff)
	}
}

// meetingCatalog makes the RememberBatch calls of its handlers wait for
// each other, so that both registries read a claim before either tries to
// take it over.
type meetingCatalog struct {
	Catalog
	arrived *atomic.Int32
	met     chan struct{} // closed when both have arrived
}

func (c meetingCatalog) RememberBatch(ctx context.Context, node, id, owner string, at time.Time) (store.BatchClaim, error) {
	claim, err := c.Catalog.RememberBatch(ctx, node, id, owner, at)
	if c.arrived.Add(1) == 2 {
		close(c.met)
	}
	select {
	case <-c.met:
	case <-time.After(20 * time.Second):
		return claim, errors.New("the other registry did not read the claim within 20 s")
	}
	return claim, err
}

// TestConcurrentTakeOver: two registries racing to take over one dead
// claim: one stores the batch, the other answers 503, retry.
func TestConcurrentTakeOver(t *testing.T) {
	f := newFixture(t, Config{})
	if _, err := f.cat.RememberBatch(context.Background(), "web-1", "b-1", "dead-registry", f.clock.now()); err != nil {
		t.Fatal(err)
	}
	meet := meetingCatalog{Catalog: f.cat, arrived: new(atomic.Int32), met: make(chan struct{})}
	regs := []*fixture{f.another(t, Config{Catalog: meet}), f.another(t, Config{Catalog: meet})}
	answers := make([]response, len(regs))
	var wg sync.WaitGroup
	for i, g := range regs {
		wg.Go(func() {
			answers[i] = response{status: -1} // no answer
			req, err := http.NewRequest("POST", g.url+"/v1/write", strings.NewReader("cpu v=1 1\n"))
			if err != nil {
				return
			}
			req.Header.Set("Authorization", "Bearer "+g.tokens["agent"])
			req.Header.Set(BatchIDHeader, "b-1")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			resp.Body.Close()
			answers[i] = response{status: resp.StatusCode, header: resp.Header}
		})
	}
	wg.Wait()
	got := map[int]int{}
	for _, a := range answers {
		got[a.status]++
		if a.status == http.StatusServiceUnavailable && a.header.Get("Retry-After") != "1" {
			t.Errorf("503 with Retry-After %q, want 1", a.header.Get("Retry-After"))
		}
		if a.header.Get(ReplayHeader) != "" {
			t.Errorf("answered as a replay: %d %v", a.status, a.header)
		}
	}
	if diff := cmp.Diff(map[int]int{http.StatusNoContent: 1, http.StatusServiceUnavailable: 1}, got); diff != "" {
		t.Errorf("answers by status (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"cpu node=web-1 v=1 1"}, f.metrics.got()); diff != "" {
		t.Errorf("stored (-want +got):\n%s", diff)
	}
}
