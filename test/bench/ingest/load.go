package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// requestTimeout bounds one request; a server slower than that is counted
// as an error ("timeout").
const requestTimeout = 60 * time.Second

// newClient returns the HTTP client of the load: up to conns keep-alive
// connections to the server, bodies sent as they are (already gzipped).
func newClient(conns int) *http.Client {
	return &http.Client{
		Timeout: requestTimeout,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			IdleConnTimeout:     5 * time.Minute,
			DisableCompression:  true,
		},
	}
}

// endpoint is where and how the load writes.
type endpoint struct {
	url     string   // the write URL, query included
	tokens  []string // bearer token of each agent; nil: no Authorization
	batchID string   // prefix of each request's Vigil-Batch-Id
}

// tally is what one worker saw; tallies are merged at the end.
type tally struct {
	requests   int64
	bodies     int64 // bodies acknowledged
	acked      int64 // points in acknowledged bodies
	latencies  []time.Duration
	errors     map[string]int // by status code, or "timeout" / "transport"
	firstError string
	// pushedBack counts 429 and 503 answers retried after their
	// Retry-After, as agents do: a server's back-pressure, not a failure.
	pushedBack int64
	// heldBack counts bodies answered 429 or 503 whose retry would start
	// after the phase: an agent keeps such a batch in its spool for later,
	// and sends nothing new meanwhile, so the connection stops there.
	heldBack int64
}

func newTally() *tally { return &tally{errors: map[string]int{}} }

func (t *tally) merge(o *tally) {
	t.requests += o.requests
	t.bodies += o.bodies
	t.acked += o.acked
	t.pushedBack += o.pushedBack
	t.heldBack += o.heldBack
	t.latencies = append(t.latencies, o.latencies...)
	for k, v := range o.errors {
		t.errors[k] += v
	}
	if t.firstError == "" {
		t.firstError = o.firstError
	}
}

func (t *tally) fail(kind, msg string) {
	t.errors[kind]++
	if t.firstError == "" {
		t.firstError = kind + ": " + msg
	}
}

// outcome is what became of one body.
type outcome int

const (
	acked    outcome = iota
	failed           // an error, counted; the next body may follow
	heldBack         // pushed back past the phase's end: send nothing more
)

// send posts b until it is acknowledged, retrying after 429 and 503 as an
// agent does (after Retry-After, 1 s without one) while the retry can start
// before giveUp.
func send(ctx context.Context, c *http.Client, ep endpoint, b *batch, id string, giveUp time.Time, t *tally) outcome {
	for {
		status, msg, retry, err := post(ctx, c, ep, b, id, t)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return failed
			}
			kind := "transport"
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				kind = "timeout"
			}
			t.fail(kind, err.Error())
			return failed
		case status/100 == 2:
			t.bodies++
			t.acked += int64(b.points)
			return acked
		}
		if status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable {
			t.fail(strconv.Itoa(status), msg)
			return failed
		}
		if retry < 0 {
			retry = time.Second
		}
		if time.Now().Add(retry).After(giveUp) {
			t.heldBack++
			return heldBack
		}
		t.pushedBack++
		select {
		case <-ctx.Done():
			return failed
		case <-time.After(retry):
		}
	}
}

// post makes one request and times it; retry is the answer's Retry-After,
// -1 without one.
func post(ctx context.Context, c *http.Client, ep endpoint, b *batch, id string, t *tally) (status int, msg string, retry time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.url, bytes.NewReader(b.gz))
	if err != nil {
		return 0, "", 0, fmt.Errorf("making the request: %w", err)
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Vigil-Batch-Id", id)
	if ep.tokens != nil {
		req.Header.Set("Authorization", "Bearer "+ep.tokens[b.agent])
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", 0, err
	}
	var answer []byte
	if resp.StatusCode/100 != 2 {
		answer, _ = io.ReadAll(io.LimitReader(resp.Body, 512))
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	t.requests++
	t.latencies = append(t.latencies, time.Since(start))
	retry = -1 // no Retry-After
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
		retry = time.Duration(s) * time.Second
	}
	return resp.StatusCode, strings.Join(strings.Fields(string(answer)), " "), retry, nil
}

// loadResult is one bench load: the bodies sent over conns connections
// from start until the deadline (or until the pool ran out).
type loadResult struct {
	*tally
	start, end time.Time // first request sent, last answer received
	ranOut     bool      // every body of the pool was sent before the deadline
}

// runLoad sends pool's bodies in order over conns connections: each
// connection takes the next body and posts it, until until (no request
// starts after it; the ones under way finish), the pool is spent or ctx
// is done.
func runLoad(ctx context.Context, c *http.Client, ep endpoint, pool []batch, conns int, until time.Time) loadResult {
	var next atomic.Int64
	var ranOut atomic.Bool
	tallies := make([]*tally, conns)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range tallies {
		t := newTally()
		t.latencies = make([]time.Duration, 0, 4096)
		tallies[w] = t
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(until) {
				i := next.Add(1) - 1
				if i >= int64(len(pool)) {
					ranOut.Store(true)
					return
				}
				if send(ctx, c, ep, &pool[i], fmt.Sprintf("%s-%d", ep.batchID, i), until, t) == heldBack {
					return
				}
			}
		})
	}
	wg.Wait()
	r := loadResult{tally: newTally(), start: start, end: time.Now(), ranOut: ranOut.Load()}
	for _, t := range tallies {
		r.merge(t)
	}
	return r
}

// soakLoad has every agent post its bodies one after the other, one every
// interval (± jitter), the first at a random moment of the first interval,
// until until, and returns at until (or when ctx is done). bodies[a] are
// agent a's bodies in order. Each agent has its own client, so its own
// keep-alive connection, as real agents do.
func soakLoad(ctx context.Context, ep endpoint, bodies [][]batch, interval, jitter time.Duration, until time.Time) loadResult {
	tallies := make([]*tally, len(bodies))
	var wg sync.WaitGroup
	start := time.Now()
	for a := range bodies {
		t := newTally()
		tallies[a] = t
		wg.Go(func() {
			c := newClient(1)
			defer c.CloseIdleConnections()
			rng := rand.New(rand.NewPCG(uint64(a), 42))
			due := start.Add(time.Duration(rng.Int64N(int64(interval))))
			for i := range bodies[a] {
				if !due.Before(until) {
					return
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Until(due)):
				}
				if send(ctx, c, ep, &bodies[a][i], fmt.Sprintf("%s-%d-%d", ep.batchID, a, i), until, t) == heldBack {
					return
				}
				due = due.Add(interval + time.Duration(rng.Int64N(2*int64(jitter)+1)) - jitter)
			}
		})
	}
	wg.Wait()
	select {
	case <-ctx.Done():
	case <-time.After(time.Until(until)):
	}
	r := loadResult{tally: newTally(), start: start, end: time.Now()}
	for _, t := range tallies {
		r.merge(t)
	}
	return r
}
