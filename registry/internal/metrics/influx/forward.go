package influx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	// twice compress/gzip's speed at level 1, and faster for InfluxDB to inflate
	"github.com/klauspost/compress/gzip"

	"github.com/vigilmon/vigil/internal/spool"
)

// Timing of the forwarder.
const (
	retryMin = 100 * time.Millisecond
	// linger is how long the reader waits for another record before it
	// sends a batch smaller than BatchPoints.
	linger = 2 * time.Millisecond
)

// forwarder moves records from the queue to InfluxDB: one reader cuts
// them into batches, Concurrency workers POST the batches, the acker
// acknowledges records in queue order once every part of them is in.
type forwarder struct {
	sp          *spool.Spool
	client      *http.Client
	writeURL    string
	queryURL    string
	db          string
	user, pass  string
	plain       bool // bodies uncompressed (Options.DisableGzip)
	log         hclog.Logger
	batchPoints int
	retryMax    time.Duration
	c           *counters
	acks        *acker
	batches     chan *batch
	dbReady     atomic.Bool
	failing     atomic.Bool // InfluxDB is failing writes: log the streak once
}

// batch is one POST body's worth of parts of records.
type batch struct {
	parts  []part
	points int
}

type part struct {
	rec    *pending
	data   []byte
	points int
}

// read hands the queue's records to the workers in batches, until ctx ends.
func (f *forwarder) read(ctx context.Context) {
	defer close(f.batches)
	cur := &batch{}
	for {
		var rec spool.Record
		var err error
		if cur.points == 0 {
			rec, err = f.sp.Next(ctx)
		} else {
			lctx, cancel := context.WithTimeout(ctx, linger)
			rec, err = f.sp.Next(lctx)
			cancel()
			if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
				if !f.send(ctx, cur) {
					return
				}
				cur = &batch{}
				continue
			}
		}
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, spool.ErrClosed) {
				return
			}
			f.log.Error("reading the queue", "error", err)
			if !sleep(ctx, time.Second) {
				return
			}
			continue
		}
		chunks := split(rec.Data, f.batchPoints)
		p := f.acks.add(rec.Seq, len(chunks))
		for _, c := range chunks {
			cur.parts = append(cur.parts, part{rec: p, data: c.data, points: c.points})
			cur.points += c.points
			if cur.points >= f.batchPoints {
				if !f.send(ctx, cur) {
					return
				}
				cur = &batch{}
			}
		}
	}
}

func (f *forwarder) send(ctx context.Context, b *batch) bool {
	select {
	case f.batches <- b:
		return true
	case <-ctx.Done():
		return false
	}
}

type chunk struct {
	data   []byte
	points int
}

// split cuts line protocol into chunks of at most n lines.
func split(data []byte, n int) []chunk {
	var out []chunk
	for len(data) > 0 {
		end, lines := 0, 0
		for lines < n && end < len(data) {
			end += lineEnd(data[end:])
			lines++
		}
		out = append(out, chunk{data: data[:end], points: lines})
		data = data[end:]
	}
	return out
}

// lineEnd returns the length of the first line of data, its '\n'
// included. A string field value may hold newlines (InfluxDB 1.x keeps
// them as they are), so a line with a quote in it is read as InfluxDB
// reads it; the others, nearly all, end at their first newline.
func lineEnd(data []byte) int {
	i := bytes.IndexByte(data, '\n')
	if i < 0 {
		return len(data)
	}
	if bytes.IndexByte(data[:i], '"') < 0 {
		return i + 1
	}
	return quotedLineEnd(data)
}

// quotedLineEnd is lineEnd for a line that may hold a string: a quote
// opens one only in the field section, right after an unescaped '=';
// within it a backslash escapes the next byte.
func quotedLineEnd(data []byte) int {
	fields, inString, afterEq := false, false, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case inString:
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
		case c == '\n':
			return i + 1
		case c == '\\':
			i++
			afterEq = false
			continue
		case c == ' ':
			fields = true
		case c == '"' && fields && afterEq:
			inString = true
		}
		afterEq = c == '='
	}
	return len(data)
}

// work POSTs batches until the reader stops or ctx ends. A batch whose
// delivery ctx interrupted is not acknowledged: the next Open sends it.
func (f *forwarder) work(ctx context.Context) {
	var body bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&body, gzip.BestSpeed)
	for b := range f.batches {
		body.Reset()
		if f.plain {
			for _, p := range b.parts {
				body.Write(p.data)
			}
		} else {
			zw.Reset(&body)
			for _, p := range b.parts {
				_, _ = zw.Write(p.data) // writes to a bytes.Buffer do not fail
			}
			_ = zw.Close()
		}
		if !f.deliver(ctx, body.Bytes(), b.points) {
			return
		}
		for _, p := range b.parts {
			f.acks.done(p.rec)
		}
	}
}

// deliver POSTs one gzip body until InfluxDB takes it or refuses it for
// good; false when ctx ended first.
func (f *forwarder) deliver(ctx context.Context, body []byte, points int) bool {
	wait := retryMin
	for {
		if !f.dbReady.Load() {
			if err := f.createDatabase(ctx); err != nil {
				if ctx.Err() != nil {
					return false
				}
				f.c.retries.Add(1)
				f.trouble("cannot create the database; retrying", "database", f.db, "error", err)
				if !sleep(ctx, jitter(wait)) {
					return false
				}
				wait = min(2*wait, f.retryMax)
				continue
			}
		}
		res, err := f.post(ctx, body)
		if ctx.Err() != nil {
			return false
		}
		switch {
		case err == nil && res.status/100 == 2:
			f.c.forwarded.Add(int64(points))
			if f.failing.CompareAndSwap(true, false) {
				f.log.Info("InfluxDB takes writes again")
			}
			return true
		case err == nil && res.status == http.StatusNotFound && strings.Contains(res.msg, "database not found"):
			f.dbReady.Store(false)
			f.log.Warn("the database is gone; creating it again", "database", f.db)
			continue
		case err == nil && res.status/100 == 4 && res.status != http.StatusTooManyRequests &&
			res.status != http.StatusUnauthorized && res.status != http.StatusForbidden && res.status != http.StatusNotFound:
			// Bad data: InfluxDB stored the good lines; resending would
			// not make the others good.
			rejected := int64(points)
			if m := droppedRE.FindStringSubmatch(res.msg); m != nil {
				if n, err := strconv.ParseInt(m[1], 10, 64); err == nil {
					rejected = n
				}
			}
			f.c.rejectedBatches.Add(1)
			f.c.rejected.Add(rejected)
			f.c.forwarded.Add(int64(points) - rejected)
			f.log.Warn("InfluxDB refused points; not retrying them", "status", res.status, "points", points, "rejected", rejected, "error", res.msg)
			return true
		}
		f.c.retries.Add(1)
		d := jitter(wait)
		if err == nil && res.retryAfter > d {
			d = res.retryAfter
		}
		switch {
		case err != nil:
			f.trouble("cannot reach InfluxDB; retrying", "error", err, "retry_in", d)
		case res.status == http.StatusUnauthorized || res.status == http.StatusForbidden:
			f.log.Error("InfluxDB refuses the credentials; fix the username and password of the influxdb metrics store; retrying",
				"status", res.status, "error", res.msg, "retry_in", d)
		default:
			f.trouble("InfluxDB failed a write; retrying", "status", res.status, "error", res.msg, "retry_in", d)
		}
		if !sleep(ctx, d) {
			return false
		}
		wait = min(2*wait, f.retryMax)
	}
}

// trouble logs the first failure of a streak as a warning, the rest at
// debug level, so that an outage is one line, not one per retry.
func (f *forwarder) trouble(msg string, args ...any) {
	if f.failing.CompareAndSwap(false, true) {
		f.log.Warn(msg, args...)
	} else {
		f.log.Debug(msg, args...)
	}
}

var droppedRE = regexp.MustCompile(`dropped=(\d+)`)

type postResult struct {
	status     int
	msg        string
	retryAfter time.Duration
}

func (f *forwarder) post(ctx context.Context, body []byte) (postResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.writeURL, bytes.NewReader(body))
	if err != nil {
		return postResult{}, fmt.Errorf("building the write request: %w", err)
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	if !f.plain {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if f.user != "" {
		req.SetBasicAuth(f.user, f.pass)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return postResult{}, err
	}
	defer resp.Body.Close()
	res := postResult{status: resp.StatusCode}
	if resp.StatusCode/100 != 2 {
		res.msg = errorMessage(resp.Body)
		res.retryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // keep the connection
	return res, nil
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// createDatabase runs CREATE DATABASE, which InfluxDB treats as a no-op
// when the database exists.
func (f *forwarder) createDatabase(ctx context.Context) error {
	resp, err := f.postQuery(ctx, url.Values{"q": {"CREATE DATABASE " + quoteIdent(f.db)}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg := errorMessage(resp.Body)
	if resp.StatusCode != http.StatusOK || msg != `{"results":[{"statement_id":0}]}` {
		return fmt.Errorf("CREATE DATABASE: %s: %s", resp.Status, msg)
	}
	f.dbReady.Store(true)
	return nil
}

// postQuery POSTs a form to /query.
func (f *forwarder) postQuery(ctx context.Context, form url.Values) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.queryURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("building the query request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if f.user != "" {
		req.SetBasicAuth(f.user, f.pass)
	}
	return f.client.Do(req)
}

// jsonError is the "error" of a JSON answer of InfluxDB's, or "".
func jsonError(b []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(b, &e) != nil {
		return ""
	}
	return e.Error
}

// jitter is d/2 plus a random part of d/2.
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// acker acknowledges records in the order the queue handed them out, each
// once every part of it is delivered (parts of later records may finish
// first: there are several workers).
type acker struct {
	sp  *spool.Spool
	log hclog.Logger

	mu       sync.Mutex
	inflight []*pending // handed out, not yet acknowledged, in queue order
	acked    uint64     // highest seq acknowledged
	changed  chan struct{}
}

// pending is a record handed out, with the parts of it not yet delivered.
type pending struct {
	seq  uint64
	left int
}

func newAcker(sp *spool.Spool, log hclog.Logger) *acker {
	return &acker{sp: sp, log: log, changed: make(chan struct{})}
}

// add registers a record cut into parts parts (0 for an empty record).
func (a *acker) add(seq uint64, parts int) *pending {
	p := &pending{seq: seq, left: parts}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.inflight = append(a.inflight, p)
	if parts == 0 {
		a.advance()
	}
	return p
}

// done records that one part of p was delivered.
func (a *acker) done(p *pending) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p.left--
	if p.left == 0 {
		a.advance()
	}
}

// advance acknowledges the finished records at the head of inflight.
func (a *acker) advance() {
	n := 0
	for n < len(a.inflight) && a.inflight[n].left <= 0 {
		n++
	}
	if n == 0 {
		return
	}
	seq := a.inflight[n-1].seq
	a.inflight = append(a.inflight[:0], a.inflight[n:]...)
	if err := a.sp.Ack(seq); err != nil {
		// The records are delivered; at worst a restart sends them again
		// and InfluxDB overwrites them with the same values.
		a.log.Error("acknowledging delivered records in the queue", "seq", seq, "error", err)
	}
	a.acked = seq
	close(a.changed)
	a.changed = make(chan struct{})
}

// progress returns the highest acknowledged seq and a channel closed when
// it next moves.
func (a *acker) progress() (uint64, <-chan struct{}) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.acked, a.changed
}
