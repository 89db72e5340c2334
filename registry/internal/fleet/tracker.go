package fleet

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/vigilmon/vigil/registry/internal/metrics"
	"github.com/vigilmon/vigil/registry/internal/store"
)

// Writer is what a Tracker writes to; store.Fleet provides it.
type Writer interface {
	PutLatest(ctx context.Context, values []store.LatestValue) error
	PutPromiseResults(ctx context.Context, results []store.PromiseResult) error
}

// PromiseMeasurement is the measurement of promise results; see Observe.
const PromiseMeasurement = "promise"

// Tracker gathers latest values and promise results in memory until Flush.
// It is safe for concurrent use.
//
// An entry that saw no new value for two flushes in a row is dropped from
// memory (it stays in the store), so memory follows the series written
// recently, not every series ever seen.
//
// Flush writes the latest values in transactions of at most FlushBatch
// values: a fleet of thousands of agents changes hundreds of thousands of
// values between two flushes, and one transaction of them all would hold
// the catalog's writer (which every write request needs) for seconds and
// build all the rows in memory at once.
type Tracker struct {
	st Writer

	mu      sync.Mutex
	series  map[string]*series
	dirty   []*series // series with a field to flush, each once (queued)
	results map[string]*result
	names   map[string]string // field names, interned
	key     []byte            // scratch for map keys, guarded by mu

	flushMu sync.Mutex // one Flush at a time
	batch   int        // values per PutLatest call
}

// FlushBatch is the most latest values one PutLatest call of Flush writes.
const FlushBatch = 1024

// maxNames bounds the interned field names; past it the table starts
// over (names are then shared less, never wrong).
const maxNames = 1 << 14

// series is one node, measurement and tag set. node, measurement and tags
// are substrings of its map key, allocated once.
type series struct {
	node, measurement, tags string
	fields                  []latest
	idle                    int32 // flushes since it last changed
	queued                  bool  // in Tracker.dirty
}

// latest is one field's newest value, compact: a series field costs 56
// bytes. bits holds a Float's IEEE bits, an Int, a Uint or a Bool (0, 1);
// s a String. time is Unix nanoseconds.
type latest struct {
	field string // interned
	s     string
	bits  uint64
	time  int64
	kind  metrics.Kind
	dirty bool // changed since the last flush
}

func (l *latest) set(v metrics.Value) {
	l.kind, l.s, l.bits = v.Kind, "", 0
	switch v.Kind {
	case metrics.Float:
		l.bits = math.Float64bits(v.F)
	case metrics.Int:
		l.bits = uint64(v.I)
	case metrics.Uint:
		l.bits = v.U
	case metrics.Bool:
		if v.B {
			l.bits = 1
		}
	case metrics.String:
		l.s = strings.Clone(v.S)
	}
}

// goValue is l's value as store.LatestValue holds it.
func (l *latest) goValue() any {
	switch l.kind {
	case metrics.Float:
		return math.Float64frombits(l.bits)
	case metrics.Int:
		return int64(l.bits)
	case metrics.Uint:
		return l.bits
	case metrics.Bool:
		return l.bits != 0
	}
	return l.s
}

type result struct {
	r     store.PromiseResult
	ns    int64 // r.Time in Unix nanoseconds, to compare cheaply
	dirty bool
	idle  int
}

// New returns a tracker writing to st.
func New(st Writer) *Tracker {
	return &Tracker{st: st, series: map[string]*series{}, results: map[string]*result{}, names: map[string]string{}, batch: FlushBatch}
}

// Observe takes the points of one ingested request. Each must carry a
// `node` tag (points without one are skipped) and follow metrics.Point's
// rules (tags sorted, unique). Every field becomes the latest value of its
// series unless a newer one is already held. A point of measurement
// "promise" with tags `plugin` and `promise` and an integer `status` field
// from 0 to 3 is also a promise result (fields `message`, `duration_ms`
// and `anomaly` optional). The points are not kept: Observe copies what it
// holds on to.
func (t *Tracker) Observe(points []metrics.Point) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range points {
		p := &points[i]
		node := tagValue(p.Tags, "node")
		if node == "" {
			continue
		}
		t.observeLatest(node, p)
		if p.Measurement == PromiseMeasurement {
			t.observeResult(node, p)
		}
	}
}

// observeLatest records p's fields as latest values; t.mu is held.
func (t *Tracker) observeLatest(node string, p *metrics.Point) {
	k := append(t.key[:0], node...)
	k = append(k, 0)
	k = append(k, p.Measurement...)
	k = append(k, 0)
	tagsAt := len(k)
	k = AppendCanonicalTags(k, p.Tags)
	t.key = k
	s := t.series[string(k)]
	if s == nil {
		key := string(k)
		s = &series{node: key[:len(node)], measurement: key[len(node)+1 : tagsAt-1], tags: key[tagsAt:],
			fields: make([]latest, 0, len(p.Fields))}
		t.series[key] = s
	}
	for i, f := range p.Fields {
		// A series' points mostly carry their fields in the same order:
		// look where the last point had it first, then everywhere.
		j := i
		if j >= len(s.fields) || s.fields[j].field != f.Key {
			j = 0
			for j < len(s.fields) && s.fields[j].field != f.Key {
				j++
			}
		}
		if j == len(s.fields) {
			s.fields = append(s.fields, latest{field: t.intern(f.Key), time: math.MinInt64})
		}
		l := &s.fields[j]
		if p.Time < l.time {
			continue
		}
		l.set(f.Value)
		l.time, l.dirty = p.Time, true
		s.idle = 0
		t.queue(s)
	}
}

// queue puts s on the list of series to flush unless it is on it; t.mu is
// held.
func (t *Tracker) queue(s *series) {
	if !s.queued {
		s.queued = true
		t.dirty = append(t.dirty, s)
	}
}

// intern returns name, shared with every other series of the same field;
// t.mu is held.
func (t *Tracker) intern(name string) string {
	if n, ok := t.names[name]; ok {
		return n
	}
	if len(t.names) >= maxNames {
		clear(t.names)
	}
	n := strings.Clone(name)
	t.names[n] = n
	return n
}

// observeResult records p as a promise result if it is one; t.mu is held.
func (t *Tracker) observeResult(node string, p *metrics.Point) {
	plugin, promise := tagValue(p.Tags, "plugin"), tagValue(p.Tags, "promise")
	if plugin == "" || promise == "" {
		return
	}
	status, ok := -1, false
	r := store.PromiseResult{}
	for _, f := range p.Fields {
		switch f.Key {
		case "status":
			status, ok = promiseStatus(f.Value)
		case "message":
			if f.Value.Kind == metrics.String {
				r.Message = f.Value.S
			}
		case "duration_ms":
			r.DurationMS, _ = f.Value.Number()
		case "anomaly":
			r.Anomaly = f.Value.Kind == metrics.Bool && f.Value.B
		}
	}
	if !ok {
		return
	}
	k := append(t.key[:0], node...)
	k = append(k, 0)
	k = append(k, plugin...)
	k = append(k, 0)
	k = append(k, promise...)
	t.key = k
	cur := t.results[string(k)]
	if cur != nil && p.Time < cur.ns {
		return
	}
	if cur == nil {
		cur = &result{}
		t.results[string(k)] = cur
	}
	r.Node, r.Plugin, r.Promise = strings.Clone(node), strings.Clone(plugin), strings.Clone(promise)
	r.Message = strings.Clone(r.Message)
	r.Status, r.Time = status, time.Unix(0, p.Time).UTC()
	cur.r, cur.ns, cur.dirty, cur.idle = r, p.Time, true, 0
}

// promiseStatus reads a status field: an integer 0–3 (a float with an
// integral value counts, as some clients only write floats).
func promiseStatus(v metrics.Value) (int, bool) {
	var n float64
	switch v.Kind {
	case metrics.Int:
		n = float64(v.I)
	case metrics.Uint:
		n = float64(v.U)
	case metrics.Float:
		n = v.F
	default:
		return 0, false
	}
	if n != math.Trunc(n) || n < 0 || n > 3 {
		return 0, false
	}
	return int(n), true
}

func tagValue(tags []metrics.Tag, key string) string {
	for _, t := range tags {
		if t.Key == key {
			return t.Value
		}
	}
	return ""
}

// AppendCanonicalTags appends the canonical form of tags (sorted by key),
// leaving out `node`, to b: "k1=v1,k2=v2", with `\`, `,` and `=` in keys
// and values escaped by a backslash. It is store.LatestValue's Tags.
func AppendCanonicalTags(b []byte, tags []metrics.Tag) []byte {
	first := true
	for _, t := range tags {
		if t.Key == "node" {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendEscaped(b, t.Key)
		b = append(b, '=')
		b = appendEscaped(b, t.Value)
	}
	return b
}

func appendEscaped(b []byte, s string) []byte {
	// A loop over the bytes, not strings.ContainsAny, which builds its set
	// at each call: this runs for every tag of every point ingested.
	last := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', ',', '=':
			b = append(b, s[last:i]...)
			b = append(b, '\\', c)
			last = i + 1
		}
	}
	return append(b, s[last:]...)
}

// Flush writes every value and result that changed since the last Flush
// to the store, the values in transactions of at most FlushBatch. What
// fails to be written is kept and tried again by the next Flush (unless a
// newer value replaced it meanwhile); a failed transaction ends the
// flush of values.
func (t *Tracker) Flush(ctx context.Context) error {
	t.flushMu.Lock()
	defer t.flushMu.Unlock()
	queue, results, resultRefs := t.collect()
	var errs []error
	written := 0
	for len(queue) > 0 {
		var values []store.LatestValue
		var refs []fieldRef
		values, refs, queue = t.takeValues(queue)
		if len(values) == 0 {
			continue
		}
		if err := t.st.PutLatest(ctx, values); err != nil {
			errs = append(errs, fmt.Errorf("writing %d latest values (%d written before): %w", len(values), written, err))
			t.redirtyFields(refs, queue)
			break
		}
		written += len(values)
	}
	if len(results) > 0 {
		if err := t.st.PutPromiseResults(ctx, results); err != nil {
			errs = append(errs, fmt.Errorf("writing %d promise results: %w", len(results), err))
			t.redirtyResults(resultRefs)
		}
	}
	return errors.Join(errs...)
}

// fieldRef finds a flushed field again if its write failed.
type fieldRef struct {
	s     *series
	field int // index in s.fields
	time  int64
}

type resultRef struct {
	key  string
	time int64
}

// collect takes the queue of series to flush and the results that
// changed, clears the results' dirty marks and drops entries idle for two
// flushes.
func (t *Tracker) collect() ([]*series, []store.PromiseResult, []resultRef) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for key, s := range t.series {
		if s.queued {
			continue
		}
		if s.idle++; s.idle >= 2 {
			delete(t.series, key)
		}
	}
	queue := t.dirty
	t.dirty = nil
	var results []store.PromiseResult
	var rrefs []resultRef
	for key, r := range t.results {
		if !r.dirty {
			if r.idle++; r.idle >= 2 {
				delete(t.results, key)
			}
			continue
		}
		r.dirty = false
		results = append(results, r.r)
		rrefs = append(rrefs, resultRef{key: key, time: r.ns})
	}
	return queue, results, rrefs
}

// takeValues takes the dirty values of the first series of queue, whole
// series up to t.batch values (at least one series), clearing their dirty
// marks; it returns them and the rest of the queue.
func (t *Tracker) takeValues(queue []*series) ([]store.LatestValue, []fieldRef, []*series) {
	t.mu.Lock()
	defer t.mu.Unlock()
	values := make([]store.LatestValue, 0, t.batch)
	refs := make([]fieldRef, 0, t.batch)
	n := 0
	for n < len(queue) && (n == 0 || len(values)+len(queue[n].fields) <= t.batch) {
		s := queue[n]
		n++
		s.queued = false
		for i := range s.fields {
			l := &s.fields[i]
			if !l.dirty {
				continue
			}
			l.dirty = false
			values = append(values, store.LatestValue{
				Node: s.node, Measurement: s.measurement, Tags: s.tags, Field: l.field,
				Value: l.goValue(), Time: time.Unix(0, l.time).UTC(),
			})
			refs = append(refs, fieldRef{s: s, field: i, time: l.time})
		}
	}
	return values, refs, queue[n:]
}

// redirtyFields marks failed fields for the next flush, and queues again
// the series the flush did not reach.
func (t *Tracker) redirtyFields(refs []fieldRef, rest []*series) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, ref := range refs {
		// A newer value (dirty already) replaced a failed one: keep it.
		if l := &ref.s.fields[ref.field]; l.time == ref.time {
			l.dirty, ref.s.idle = true, 0
			t.queue(ref.s)
		}
	}
	for _, s := range rest {
		// Still marked queued: Observe did not queue them again.
		s.queued = false
		t.queue(s)
	}
}

func (t *Tracker) redirtyResults(refs []resultRef) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, ref := range refs {
		if r := t.results[ref.key]; r != nil && r.ns == ref.time {
			r.dirty, r.idle = true, 0
		}
	}
}
