package main

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// recorder is a fake write endpoint: it gunzips each body, remembers its
// batch id and token, and answers what answer says for that request.
type recorder struct {
	mu      sync.Mutex
	ids     []string
	tokens  map[string]int
	bytes   int
	answer  func(n int) (status int, retryAfter string)
	current int
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	zr, err := gzip.NewReader(r.Body)
	if err != nil || r.Header.Get("Content-Encoding") != "gzip" {
		http.Error(w, "not gzip", http.StatusBadRequest)
		return
	}
	b, _ := io.ReadAll(zr)
	rec.mu.Lock()
	n := rec.current
	rec.current++
	status, retry := http.StatusNoContent, ""
	if rec.answer != nil {
		status, retry = rec.answer(n)
	}
	if status/100 == 2 {
		rec.ids = append(rec.ids, r.Header.Get("Vigil-Batch-Id"))
		rec.tokens[r.Header.Get("Authorization")]++
		rec.bytes += len(b)
	}
	rec.mu.Unlock()
	if retry != "" {
		w.Header().Set("Retry-After", retry)
	}
	if status/100 != 2 {
		http.Error(w, `{"error":"busy"}`, status)
		return
	}
	w.WriteHeader(status)
}

func testPool(t *testing.T, agents, bodies, size int) []batch {
	t.Helper()
	f := newFleet(agents, benchShape(systemFields), time.Unix(1_700_000_000, 0), time.Second)
	pool, err := f.generate(context.Background(), benchSpecs(agents, size, int64(bodies*size)))
	if err != nil {
		t.Fatal(err)
	}
	return pool
}

// TestRunLoadSendsEveryBodyOnce runs a load that outlasts its pool.
func TestRunLoadSendsEveryBodyOnce(t *testing.T) {
	rec := &recorder{tokens: map[string]int{}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	pool := testPool(t, 2, 10, 50)
	ep := endpoint{url: srv.URL + "/v1/write", tokens: []string{"tok-a", "tok-b"}, batchID: "t"}
	r := runLoad(context.Background(), newClient(3), ep, pool, 3, time.Now().Add(time.Hour))
	if !r.ranOut || r.acked != 500 || r.bodies != 10 || r.requests != 10 || len(r.latencies) != 10 || len(r.errors) != 0 {
		t.Errorf("ranOut %v, acked %d, bodies %d, requests %d, latencies %d, errors %v; want the whole pool of 10 bodies, 500 points",
			r.ranOut, r.acked, r.bodies, r.requests, len(r.latencies), r.errors)
	}
	seen := map[string]bool{}
	for _, id := range rec.ids {
		if seen[id] {
			t.Errorf("batch id %q sent twice", id)
		}
		seen[id] = true
	}
	if diff := cmp.Diff(map[string]int{"Bearer tok-a": 5, "Bearer tok-b": 5}, rec.tokens); diff != "" {
		t.Errorf("requests per token (-want +got):\n%s", diff)
	}
	raw := 0
	for _, b := range pool {
		raw += b.raw
	}
	if rec.bytes != raw {
		t.Errorf("server read %d bytes of line protocol, want %d", rec.bytes, raw)
	}
}

// TestRunLoadRetriesOverload checks that 503 and 429 are retried after
// Retry-After with the same batch id and counted as pushed back, not as
// errors, and a 400 is counted as an error and not retried.
func TestRunLoadRetriesOverload(t *testing.T) {
	rec := &recorder{tokens: map[string]int{}, answer: func(n int) (int, string) {
		switch n {
		case 0:
			return http.StatusServiceUnavailable, "0"
		case 1:
			return http.StatusTooManyRequests, "0"
		case 3:
			return http.StatusBadRequest, ""
		}
		return http.StatusNoContent, ""
	}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	pool := testPool(t, 1, 3, 20)
	ep := endpoint{url: srv.URL, batchID: "t"}
	r := runLoad(context.Background(), newClient(1), ep, pool, 1, time.Now().Add(time.Hour))
	if r.pushedBack != 2 {
		t.Errorf("pushed back %d, want 2 (the 503 and the 429)", r.pushedBack)
	}
	if diff := cmp.Diff(map[string]int{"400": 1}, r.errors); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	// Body 0 acked on its third try; body 1 refused for good; body 2 acked.
	if diff := cmp.Diff([]string{"t-0", "t-2"}, rec.ids); diff != "" {
		t.Errorf("acked batch ids (-want +got):\n%s", diff)
	}
	if r.acked != 40 || r.requests != 5 || r.firstError != `400: {"error":"busy"}` {
		t.Errorf("acked %d in %d requests, first error %q; want 40 in 5, the 400", r.acked, r.requests, r.firstError)
	}
}

// TestRunLoadHoldsBackAtTheEnd: a 503 whose Retry-After falls after the
// phase is not an error: the body is held back, as an agent keeps it in its
// spool, and its connection sends nothing more.
func TestRunLoadHoldsBackAtTheEnd(t *testing.T) {
	rec := &recorder{tokens: map[string]int{}, answer: func(n int) (int, string) {
		if n == 0 {
			return http.StatusNoContent, ""
		}
		return http.StatusServiceUnavailable, "3600"
	}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	pool := testPool(t, 1, 10, 20)
	r := runLoad(context.Background(), newClient(1), endpoint{url: srv.URL, batchID: "t"}, pool, 1, time.Now().Add(time.Hour))
	if r.heldBack != 1 || r.pushedBack != 0 || len(r.errors) != 0 {
		t.Errorf("held back %d, pushed back %d, errors %v; want 1, 0, none", r.heldBack, r.pushedBack, r.errors)
	}
	if r.requests != 2 || r.acked != 20 {
		t.Errorf("%d requests, %d points acked; want 2 (the connection stops at the 503), 20", r.requests, r.acked)
	}
}

// TestRunLoadStopsAtDeadline checks that no request starts after the
// deadline.
func TestRunLoadStopsAtDeadline(t *testing.T) {
	rec := &recorder{tokens: map[string]int{}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	pool := testPool(t, 1, 5, 10)
	r := runLoad(context.Background(), newClient(2), endpoint{url: srv.URL, batchID: "t"}, pool, 2, time.Now().Add(-time.Second))
	if r.requests != 0 || r.ranOut {
		t.Errorf("%d requests (ran out %v) after the deadline, want none", r.requests, r.ranOut)
	}
}

func TestSoakLoad(t *testing.T) {
	rec := &recorder{tokens: map[string]int{}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	pool := testPool(t, 4, 4*3, 10)
	perAgent := make([][]batch, 4)
	for _, b := range pool {
		perAgent[b.agent] = append(perAgent[b.agent], b)
	}
	ep := endpoint{url: srv.URL, tokens: []string{"a", "b", "c", "d"}, batchID: "s"}
	// Each agent's first post comes within the first 20ms, then one every
	// 20ms (±5ms); 30ms lets at least one and at most three through.
	until := time.Now().Add(30 * time.Millisecond)
	r := soakLoad(context.Background(), ep, perAgent, 20*time.Millisecond, 5*time.Millisecond, until)
	if r.end.Before(until) {
		t.Errorf("the soak ended %s before its end", until.Sub(r.end))
	}
	if len(r.errors) != 0 {
		t.Errorf("errors %v", r.errors)
	}
	for tok, n := range rec.tokens {
		if n < 1 || n > 3 {
			t.Errorf("%s posted %d times, want 1 to 3", tok, n)
		}
	}
	if len(rec.tokens) != 4 || r.acked != int64(10*len(rec.ids)) {
		t.Errorf("%d agents posted, %d points acked for %d bodies; want 4 agents, 10 points a body", len(rec.tokens), r.acked, len(rec.ids))
	}
}
