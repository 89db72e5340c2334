package embedded

import (
	"encoding/binary"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/vigilmon/vigil/registry/internal/metrics"
)

// tagSet is one measurement with one set of tags; its fields are series.
type tagSet struct {
	key         string // setKey(measurement, tags)
	measurement string
	tags        []metrics.Tag
	node        string
	fields      []*series // guarded by dict.mu
	lastSeen    atomic.Int64
}

func (ts *tagSet) field(name string) *series {
	for _, s := range ts.fields {
		if s.field == name {
			return s
		}
	}
	return nil
}

// touch records that a write named this tag set at now (Unix ns), at most
// once a second so concurrent writers rarely share the cache line.
func (ts *tagSet) touch(now int64) {
	if ts.lastSeen.Load() < now-1e9 {
		ts.lastSeen.Store(now)
	}
}

// series is one field of one tag set: the unit that owns chunks.
type series struct {
	id    uint64
	set   *tagSet
	field string
	// logged is set once the series' definition is durable (in a committed
	// WAL record or in SQLite); until then every write naming it logs it.
	logged atomic.Bool

	// flushedLSN is the LSN of the last sample in SQLite, as loaded at
	// Open: replay skips the samples up to it.
	flushedLSN uint64

	mu     sync.Mutex
	head   *headChunk   // open for appends, nil when empty
	frozen []*headChunk // cut, waiting for (or in) a flush transaction
	hint   int32        // bytes of the last full chunk, to size the next
}

// dict is the series dictionary: every known series, by tag set and by id.
type dict struct {
	mu     sync.RWMutex
	sets   map[string]*tagSet
	byMeas map[string][]*tagSet // measurement → tag sets, for queries
	byID   map[uint64]*series
	nextID uint64
	// unpersisted are the series not yet in SQLite's series table.
	unpersisted []*series
	// names interns measurements, tag keys and values and field names:
	// thousands of tag sets share a few of them (a fleet's nodes, its
	// process names), and one copy each instead of one per tag set is
	// a third of the dictionary's memory.
	names map[string]string
}

// maxNames bounds dict.names; past it the table starts over (names are
// then shared less, never wrong), so that a tag of unbounded values does
// not pin every value ever seen.
const maxNames = 1 << 16

// intern returns a copy of name shared by every series naming it; the
// caller holds mu for writing.
func (d *dict) intern(name string) string {
	if n, ok := d.names[name]; ok {
		return n
	}
	if len(d.names) >= maxNames {
		clear(d.names)
	}
	n := strings.Clone(name)
	d.names[n] = n
	return n
}

func newDict() *dict {
	return &dict{sets: map[string]*tagSet{}, byMeas: map[string][]*tagSet{}, byID: map[uint64]*series{}, nextID: 1, names: map[string]string{}}
}

// appendSetKey encodes measurement and tags without ambiguity.
func appendSetKey(b []byte, measurement string, tags []metrics.Tag) []byte {
	b = binary.AppendUvarint(b, uint64(len(measurement)))
	b = append(b, measurement...)
	for _, t := range tags {
		b = binary.AppendUvarint(b, uint64(len(t.Key)))
		b = append(b, t.Key...)
		b = binary.AppendUvarint(b, uint64(len(t.Value)))
		b = append(b, t.Value...)
	}
	return b
}

// add creates the series (measurement, tags, field) with id, or returns the
// existing one (created false); id 0 allocates the next. The caller holds mu
// for writing.
func (d *dict) add(key []byte, measurement string, tags []metrics.Tag, field string, id uint64) (s *series, created bool) {
	ts := d.sets[string(key)]
	if ts == nil {
		ts = &tagSet{key: string(key), measurement: d.intern(measurement), tags: make([]metrics.Tag, len(tags))}
		for i, t := range tags {
			ts.tags[i] = metrics.Tag{Key: d.intern(t.Key), Value: d.intern(t.Value)}
			if t.Key == "node" {
				ts.node = ts.tags[i].Value
			}
		}
		d.sets[ts.key] = ts
		d.byMeas[ts.measurement] = append(d.byMeas[ts.measurement], ts)
	}
	if s := ts.field(field); s != nil {
		return s, false
	}
	if id == 0 {
		id = d.nextID
	}
	d.nextID = max(d.nextID, id+1)
	s = &series{id: id, set: ts, field: d.intern(field)}
	ts.fields = append(ts.fields, s)
	d.byID[id] = s
	return s, true
}

// resolve fills w.refs with the series of every field of points, in order,
// creating the missing ones, and w.defs with those not yet logged.
func (d *dict) resolve(points []metrics.Point, now int64, w *writeBuf) {
	w.refs = w.refs[:0]
	missing := false
	d.mu.RLock()
	for i := range points {
		p := &points[i]
		w.key = appendSetKey(w.key[:0], p.Measurement, p.Tags)
		ts := d.sets[string(w.key)]
		if ts != nil {
			ts.touch(now)
		}
		for j := range p.Fields {
			var s *series
			if ts != nil {
				s = ts.field(p.Fields[j].Key)
			}
			missing = missing || s == nil
			w.refs = append(w.refs, s)
		}
	}
	d.mu.RUnlock()
	if missing {
		d.mu.Lock()
		k := 0
		for i := range points {
			p := &points[i]
			for j := range p.Fields {
				if w.refs[k] == nil {
					w.key = appendSetKey(w.key[:0], p.Measurement, p.Tags)
					s, created := d.add(w.key, p.Measurement, p.Tags, p.Fields[j].Key, 0)
					if created {
						d.unpersisted = append(d.unpersisted, s)
					}
					s.set.touch(now)
					w.refs[k] = s
				}
				k++
			}
		}
		d.mu.Unlock()
	}
	w.defs = w.defs[:0]
	for _, s := range w.refs {
		if !s.logged.Load() && !slices.Contains(w.defs, s) {
			w.defs = append(w.defs, s)
		}
	}
}

// all is a snapshot of every series.
func (d *dict) all() []*series {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]*series, 0, len(d.byID))
	for _, s := range d.byID {
		out = append(out, s)
	}
	return out
}

// match returns the series of q.Field in every tag set matching q.
func (d *dict) match(q metrics.Query) []*series {
	d.mu.RLock()
	defer d.mu.RUnlock()
	var out []*series
	for _, ts := range d.byMeas[q.Measurement] {
		if q.Node != "" && ts.node != q.Node {
			continue
		}
		if !tagsMatch(ts.tags, q.Tags) {
			continue
		}
		if s := ts.field(q.Field); s != nil {
			out = append(out, s)
		}
	}
	return out
}

func tagsMatch(tags []metrics.Tag, want map[string]string) bool {
	for k, v := range want {
		i, ok := slices.BinarySearchFunc(tags, k, func(t metrics.Tag, k string) int { return strings.Compare(t.Key, k) })
		if !ok || tags[i].Value != v {
			return false
		}
	}
	return true
}

// remove drops series from the dictionary (retention: no data left
// anywhere). The caller holds mu for writing.
func (d *dict) remove(gone []*series) {
	emptied := map[*tagSet]bool{}
	for _, s := range gone {
		delete(d.byID, s.id)
		ts := s.set
		ts.fields = slices.DeleteFunc(ts.fields, func(x *series) bool { return x == s })
		if len(ts.fields) == 0 {
			emptied[ts] = true
			delete(d.sets, ts.key)
		}
	}
	meas := map[string]bool{}
	for ts := range emptied {
		meas[ts.measurement] = true
	}
	for m := range meas {
		l := slices.DeleteFunc(d.byMeas[m], func(ts *tagSet) bool { return emptied[ts] })
		if len(l) == 0 {
			delete(d.byMeas, m)
		} else {
			d.byMeas[m] = l
		}
	}
}
