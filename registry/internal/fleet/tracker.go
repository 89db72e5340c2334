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
type Tracker struct {
	st Writer

	mu      sync.Mutex
	series  map[string]*series
	results map[string]*result
	key     []byte // scratch for map keys, guarded by mu

	flushMu sync.Mutex // one Flush at a time
}

// series is one node, measurement and tag set. node, measurement and tags
// are substrings of its map key, allocated once.
type series struct {
	node, measurement, tags string
	fields                  []latest
	idle                    int // flushes since it last changed
}

// latest is one field's newest value; Time is Unix nanoseconds.
type latest struct {
	field string
	value metrics.Value
	time  int64
	dirty bool // changed since the last flush
}

type result struct {
	r     store.PromiseResult
	ns    int64 // r.Time in Unix nanoseconds, to compare cheaply
	dirty bool
	idle  int
}

// New returns a tracker writing to st.
func New(st Writer) *Tracker {
	return &Tracker{st: st, series: map[string]*series{}, results: map[string]*result{}}
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
		s = &series{node: key[:len(node)], measurement: key[len(node)+1 : tagsAt-1], tags: key[tagsAt:]}
		t.series[key] = s
	}
	for _, f := range p.Fields {
		j := 0
		for j < len(s.fields) && s.fields[j].field != f.Key {
			j++
		}
		if j == len(s.fields) {
			s.fields = append(s.fields, latest{field: strings.Clone(f.Key), time: math.MinInt64})
		}
		l := &s.fields[j]
		if p.Time < l.time {
			continue
		}
		l.value, l.time, l.dirty = f.Value, p.Time, true
		if f.Value.Kind == metrics.String {
			l.value.S = strings.Clone(f.Value.S)
		}
		s.idle = 0
	}
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
	if !strings.ContainsAny(s, `\,=`) {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', ',', '=':
			b = append(b, '\\', c)
		default:
			b = append(b, c)
		}
	}
	return b
}

// Flush writes every value and result that changed since the last Flush
// to the store. What fails to be written is kept and tried again by the
// next Flush (unless a newer value replaced it meanwhile).
func (t *Tracker) Flush(ctx context.Context) error {
	t.flushMu.Lock()
	defer t.flushMu.Unlock()
	values, fieldRefs, results, resultRefs := t.collect()
	var errs []error
	if len(values) > 0 {
		if err := t.st.PutLatest(ctx, values); err != nil {
			errs = append(errs, fmt.Errorf("writing %d latest values: %w", len(values), err))
			t.redirtyFields(fieldRefs)
		}
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
	key   string
	field string
	time  int64
}

type resultRef struct {
	key  string
	time int64
}

// collect takes what changed, clears its dirty marks and drops entries
// idle for two flushes.
func (t *Tracker) collect() ([]store.LatestValue, []fieldRef, []store.PromiseResult, []resultRef) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var values []store.LatestValue
	var frefs []fieldRef
	for key, s := range t.series {
		changed := false
		for i := range s.fields {
			l := &s.fields[i]
			if !l.dirty {
				continue
			}
			changed, l.dirty = true, false
			values = append(values, store.LatestValue{
				Node: s.node, Measurement: s.measurement, Tags: s.tags, Field: l.field,
				Value: goValue(l.value), Time: time.Unix(0, l.time).UTC(),
			})
			frefs = append(frefs, fieldRef{key: key, field: l.field, time: l.time})
		}
		if !changed {
			if s.idle++; s.idle >= 2 {
				delete(t.series, key)
			}
		}
	}
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
	return values, frefs, results, rrefs
}

// redirtyFields marks failed fields for the next flush, re-creating the
// entries collect may have dropped meanwhile.
func (t *Tracker) redirtyFields(refs []fieldRef) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, ref := range refs {
		s := t.series[ref.key]
		if s == nil {
			continue // dropped as idle: it was not changed since, and is lost
		}
		for i := range s.fields {
			if l := &s.fields[i]; l.field == ref.field && l.time == ref.time {
				l.dirty, s.idle = true, 0
			}
		}
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

// goValue is v as store.LatestValue holds it.
func goValue(v metrics.Value) any {
	switch v.Kind {
	case metrics.Float:
		return v.F
	case metrics.Int:
		return v.I
	case metrics.Uint:
		return v.U
	case metrics.Bool:
		return v.B
	}
	return v.S
}
