package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/influxdata/line-protocol/v2/lineprotocol"

	"github.com/vigilmon/vigil/registry/internal/metrics"
)

// maxListed caps the rejected lines a response lists one by one.
const maxListed = 100

// lineError is one rejected line, as the response lists it.
type lineError struct {
	Line   int    `json:"line"`
	Column int    `json:"column"`
	Error  string `json:"error"`
}

// String is the line:column: reason form.
func (e lineError) String() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Column, e.Error) }

// verdict is what the approval check says of a point's plugin.
type verdict uint8

const (
	approved    verdict = iota
	unapproved          // not an approved release: flagged or rejected per Config.Unapproved
	noInventory         // the node has not reported what it runs yet: flagged, never rejected
)

// approveFunc judges the plugin tag of a point for node; why explains an
// unapproved verdict. An error aborts the request.
type approveFunc func(ctx context.Context, node, plugin string) (v verdict, why string, err error)

// rules is how one request's lines are judged.
type rules struct {
	node    string      // the token's node; "" when it has none (admin)
	unit    int64       // nanoseconds per timestamp unit (the precision)
	now     int64       // the timestamp of a line without one, Unix ns
	approve approveFunc // nil: no approval check
	reject  bool        // reject unapproved points rather than flag them
}

// decoded is one request's outcome: the good points, ready for
// metrics.Store.Write, and the rejected lines. It is pooled: the points'
// tag and field slices share two backing arrays kept across requests.
type decoded struct {
	points   []metrics.Point
	tags     []metrics.Tag
	fields   []metrics.Field
	errs     []lineError // the first maxListed rejected lines
	lines    int         // lines holding a point (comments and blank lines are not counted)
	rejected int
	flagged  int      // points stored with unapproved=true
	nodes    []string // the distinct nodes of the points
	// verbatim: the body is the points' line protocol exactly as
	// metrics.LineWriter takes it, one line per point (see layout).
	verbatim bool
}

// reset empties d for the next request and drops every reference to the
// last one's body. Past len, the arrays are always zero: whatever shortens
// one of them clears what it cuts off (see record and check), so clearing
// up to len is enough — and much less than cap after one large batch.
func (d *decoded) reset() {
	clear(d.points)
	clear(d.tags)
	clear(d.fields)
	clear(d.nodes)
	d.points, d.tags, d.fields, d.errs, d.nodes = d.points[:0], d.tags[:0], d.fields[:0], d.errs[:0], d.nodes[:0]
	d.lines, d.rejected, d.flagged = 0, 0, 0
	d.verbatim = false
}

// firstError is the first rejected line, for messages.
func (d *decoded) firstError() lineError {
	if len(d.errs) == 0 {
		return lineError{}
	}
	return d.errs[0]
}

// decode decodes body with rules into d (which must be reset). The
// points' strings share one copy of body made here; they are valid as
// long as d is not reset. It returns an error only when the approval check
// fails: bad lines are recorded in d.
//
// A body in the plain form (an agent's batch) takes the fast path,
// decodePlain, which yields the same d; any other body goes through
// decodeV2.
func decode(ctx context.Context, body []byte, r rules, d *decoded) error {
	if ok, err := decodePlain(ctx, body, r, d); ok || err != nil {
		return err
	}
	return decodeV2(ctx, body, r, d)
}

// decodeV2 is decode with the line-protocol v2 decoder, for any body.
//
// Positions: the decoder reports its syntax errors as line and column;
// for the errors found here, the position is worked out from where the
// decoder's slices lie in body (see cursor).
func decodeV2(ctx context.Context, body []byte, r rules, d *decoded) error {
	s := &decodeState{body: body, str: string(body), r: r, d: d, cur: cursor{body: body, line: 1}}
	// A body can only be handed over verbatim if none of its lines needs
	// rewriting; two whole-body scans (memchr-fast) rule out escapes and
	// CR line ends at once, layout checks the rest line by line.
	s.verbatim = r.unit == 1 && bytes.IndexByte(body, '\\') < 0 && bytes.IndexByte(body, '\r') < 0
	dec := lineprotocol.NewDecoderWithBytes(body)
	for dec.Next() {
		d.lines++
		if err := s.entry(ctx, dec); err != nil {
			return err
		}
	}
	// Anything after the last line (a blank line, a comment) would reach
	// InfluxDB as a line that is no point.
	d.verbatim = s.verbatim && len(d.points) > 0 && s.lineStart >= len(body)
	return nil
}

// decodeState is decode's working state for one body.
type decodeState struct {
	body []byte
	str  string // body as a string, which points' strings slice
	r    rules
	d    *decoded
	cur  cursor

	// the last plugin judged, as most points of a batch share it
	lastNode, lastPlugin, lastWhy string
	lastVerdict                   verdict
	judged                        bool

	// verbatim: every line so far is as metrics.LineWriter takes it, and
	// the next one must start at lineStart.
	verbatim  bool
	lineStart int
}

// line is one line being decoded: its point, where its tags and fields
// start in the pooled arrays, and offsets in the body for errors.
type line struct {
	p                metrics.Point
	tag0, field0     int
	anchor           int // offset of the line's start (its first line), or -1
	nodeAt, pluginAt int // offsets of those tags' keys, or -1
	sorted           bool
	layout           layout
}

// entry decodes one line into a point, or rejects it.
func (s *decodeState) entry(ctx context.Context, dec *lineprotocol.Decoder) error {
	l := line{tag0: len(s.d.tags), field0: len(s.d.fields), anchor: -1, nodeAt: -1, pluginAt: -1, sorted: true,
		layout: layout{ok: s.verbatim, val: -1}}
	if !s.parse(dec, &l) {
		return nil
	}
	if err := s.check(ctx, &l); err != nil {
		return err
	}
	if s.verbatim && !l.layout.ok {
		s.verbatim = false
	}
	return nil
}

// parse reads the line's sections into l, or rejects the line.
func (s *decodeState) parse(dec *lineprotocol.Decoder, l *line) bool {
	d := s.d
	m, err := dec.Measurement()
	if err != nil {
		s.rejectDecodeErr(err, l)
		return false
	}
	l.anchor = s.offset(m)
	l.p.Measurement = s.string(m)
	s.first(&l.layout, l.anchor, m)
	for {
		k, v, err := dec.NextTag()
		if err != nil {
			s.rejectDecodeErr(err, l)
			return false
		}
		if k == nil {
			break
		}
		kOff := s.offset(k)
		if l.anchor < 0 {
			l.anchor = kOff
		}
		if l.anchor < 0 {
			l.anchor = s.offset(v)
		}
		s.follow(&l.layout, ',', k)
		s.follow(&l.layout, '=', v)
		if l.layout.ok && bytes.IndexByte(v, '=') >= 0 {
			l.layout.ok = false // InfluxDB 1.x wants it escaped
		}
		t := metrics.Tag{Key: s.string(k), Value: s.string(v)}
		if n := len(d.tags); n > l.tag0 && d.tags[n-1].Key >= t.Key {
			l.sorted = false
		}
		switch t.Key {
		case "node":
			l.nodeAt = kOff
		case "plugin":
			l.pluginAt = kOff
		}
		d.tags = append(d.tags, t)
	}
	for {
		k, v, err := dec.NextField()
		if err != nil {
			s.rejectDecodeErr(err, l)
			return false
		}
		if k == nil {
			break
		}
		if l.anchor < 0 {
			l.anchor = s.offset(k)
		}
		if len(d.fields) == l.field0 {
			s.follow(&l.layout, ' ', k)
		} else {
			s.follow(&l.layout, ',', k)
		}
		s.value(&l.layout, v.Kind())
		f := metrics.Field{Key: s.string(k)}
		switch v.Kind() {
		case lineprotocol.Float:
			f.Value = metrics.Value{Kind: metrics.Float, F: v.FloatV()}
		case lineprotocol.Int:
			f.Value = metrics.Value{Kind: metrics.Int, I: v.IntV()}
		case lineprotocol.Uint:
			f.Value = metrics.Value{Kind: metrics.Uint, U: v.UintV()}
		case lineprotocol.Bool:
			f.Value = metrics.Value{Kind: metrics.Bool, B: v.BoolV()}
		default:
			f.Value = metrics.Value{Kind: metrics.String, S: s.string(v.BytesV())}
		}
		d.fields = append(d.fields, f)
	}
	tb, err := dec.TimeBytes()
	if err != nil {
		s.rejectDecodeErr(err, l)
		return false
	}
	l.p.Time = s.r.now
	s.end(&l.layout, tb)
	if tb != nil {
		ts, ok := parseTime(tb, s.r.unit)
		if !ok {
			s.reject(s.offset(tb), l, fmt.Sprintf("timestamp %q is out of range for precision %s", tb, unitName(s.r.unit)))
			return false
		}
		l.p.Time = ts
	}
	return true
}

// check validates the parsed line, settles its node, judges its plugin
// and stores its point in d, or rejects it. An error (from the approval
// check) aborts the request.
func (s *decodeState) check(ctx context.Context, l *line) error {
	d := s.d
	// The decoder already refuses an empty measurement, a measurement
	// starting with '#' (a comment), empty tag keys and values, non-finite
	// numbers and a line without fields; the checks stay so that no such
	// point is ever stored, whatever the decoder version.
	switch {
	case l.p.Measurement == "" || l.p.Measurement[0] == '#':
		s.reject(l.anchor, l, fmt.Sprintf("invalid measurement name %q", l.p.Measurement))
		return nil
	case len(d.fields) == l.field0:
		s.reject(l.anchor, l, "no fields")
		return nil
	}
	for _, f := range d.fields[l.field0:] {
		if f.Value.Kind == metrics.Float && (math.IsNaN(f.Value.F) || math.IsInf(f.Value.F, 0)) {
			s.reject(l.anchor, l, fmt.Sprintf("field %q is not a finite number", f.Key))
			return nil
		}
	}
	tags := d.tags[l.tag0:]
	if !l.sorted {
		l.layout.ok = false
		slices.SortFunc(tags, func(a, b metrics.Tag) int { return strings.Compare(a.Key, b.Key) })
	}
	for i, t := range tags {
		if t.Key == "" || t.Value == "" {
			s.reject(l.anchor, l, "empty tag key or value")
			return nil
		}
		if i > 0 && tags[i-1].Key == t.Key {
			s.reject(l.anchor, l, fmt.Sprintf("duplicate tag %q", t.Key))
			return nil
		}
	}

	// The node: the token's, unless the point names it (and then the same).
	node := tagValue(tags, "node")
	switch {
	case node != "" && s.r.node != "" && node != s.r.node:
		s.reject(pick(l.nodeAt, l.anchor), l, fmt.Sprintf("point for node %q but the token is for node %q", node, s.r.node))
		return nil
	case node == "" && s.r.node == "":
		s.reject(l.anchor, l, "point has no node tag and the token is bound to no node: add a node tag")
		return nil
	case node == "":
		node = s.r.node
		s.addTag(l.tag0, "node", node)
		l.layout.ok = false
	}

	// The plugin's approval.
	if plugin := tagValue(d.tags[l.tag0:], "plugin"); plugin != "" && s.r.approve != nil && !exempt(plugin) {
		v, why, err := s.judge(ctx, node, plugin)
		if err != nil {
			return err
		}
		switch {
		case v == unapproved && s.r.reject:
			s.reject(pick(l.pluginAt, l.anchor), l, why)
			return nil
		case v != approved:
			if hasTag(d.tags[l.tag0:], "unapproved") {
				setTag(d.tags[l.tag0:], "unapproved", "true")
			} else {
				s.addTag(l.tag0, "unapproved", "true")
			}
			d.flagged++
			l.layout.ok = false
		}
	}

	p := l.p
	p.Tags = d.tags[l.tag0:len(d.tags):len(d.tags)]
	p.Fields = uniqueFields(d.fields[l.field0:len(d.fields):len(d.fields)])
	if len(p.Fields) != len(d.fields)-l.field0 {
		l.layout.ok = false
	}
	clear(d.fields[l.field0+len(p.Fields):])
	d.fields = d.fields[:l.field0+len(p.Fields)]
	d.points = append(d.points, p)
	if n := len(d.nodes); n == 0 || d.nodes[n-1] != node && !slices.Contains(d.nodes, node) {
		d.nodes = append(d.nodes, node)
	}
	return nil
}

// exempt reports whether plugin is a built-in source of the agent, which
// has no release to approve.
func exempt(plugin string) bool { return plugin == "vigil" || plugin == "exec" }

func (s *decodeState) judge(ctx context.Context, node, plugin string) (verdict, string, error) {
	if s.judged && node == s.lastNode && plugin == s.lastPlugin {
		return s.lastVerdict, s.lastWhy, nil
	}
	v, why, err := s.r.approve(ctx, node, plugin)
	if err != nil {
		return 0, "", err
	}
	s.judged, s.lastNode, s.lastPlugin, s.lastVerdict, s.lastWhy = true, node, plugin, v, why
	return v, why, nil
}

// addTag inserts a tag into the current point's sorted tags (from tag0).
func (s *decodeState) addTag(tag0 int, key, value string) {
	d := s.d
	d.tags = append(d.tags, metrics.Tag{Key: key, Value: value})
	for i := len(d.tags) - 1; i > tag0 && d.tags[i-1].Key > key; i-- {
		d.tags[i-1], d.tags[i] = d.tags[i], d.tags[i-1]
	}
}

// maxUnsortedFields is the most fields of a line uniqueFields leaves in
// their order; it sorts more by key, to find duplicates in n log n.
const maxUnsortedFields = 16

// uniqueFields keeps the last of fields with the same key, as InfluxDB
// does, and returns the shortened slice.
func uniqueFields(fs []metrics.Field) []metrics.Field {
	if len(fs) > maxUnsortedFields {
		slices.SortStableFunc(fs, func(a, b metrics.Field) int { return strings.Compare(a.Key, b.Key) })
		out := fs[:0]
		for i := range fs {
			if i+1 < len(fs) && fs[i+1].Key == fs[i].Key {
				continue
			}
			out = append(out, fs[i])
		}
		return out
	}
	if !hasDuplicateField(fs) {
		return fs // nearly always: nothing to move
	}
	out := fs[:0]
	for i := range fs {
		dup := false
		for j := i + 1; j < len(fs); j++ {
			if fs[j].Key == fs[i].Key {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, fs[i])
		}
	}
	return out
}

func pick(off, fallback int) int {
	if off >= 0 {
		return off
	}
	return fallback
}

func hasTag(tags []metrics.Tag, key string) bool {
	for _, t := range tags {
		if t.Key == key {
			return true
		}
	}
	return false
}

func tagValue(tags []metrics.Tag, key string) string {
	for _, t := range tags {
		if t.Key == key {
			return t.Value
		}
	}
	return ""
}

func setTag(tags []metrics.Tag, key, value string) {
	for i := range tags {
		if tags[i].Key == key {
			tags[i].Value = value
		}
	}
}

// rejectDecodeErr rejects line l for a decoder error, at the position the
// decoder gives.
func (s *decodeState) rejectDecodeErr(err error, l *line) {
	var de *lineprotocol.DecodeError
	if errors.As(err, &de) {
		s.record(lineError{Line: int(de.Line), Column: de.Column, Error: de.Err.Error()}, l)
		return
	}
	s.reject(l.anchor, l, err.Error())
}

// reject rejects line l with reason at offset off of body (or, if off < 0,
// where the cursor last was).
func (s *decodeState) reject(off int, l *line, reason string) {
	ln, col := s.cur.at(off)
	s.record(lineError{Line: ln, Column: col, Error: reason}, l)
}

// record counts and lists a rejected line and drops its tags and fields.
func (s *decodeState) record(e lineError, l *line) {
	d := s.d
	clear(d.tags[l.tag0:])
	clear(d.fields[l.field0:])
	d.tags, d.fields = d.tags[:l.tag0], d.fields[:l.field0]
	d.rejected++
	s.verbatim = false
	if len(d.errs) < maxListed {
		d.errs = append(d.errs, e)
	}
}

// offset is where b lies in the body, or -1 if the decoder returned it
// from elsewhere (its buffer for unescaped text).
func (s *decodeState) offset(b []byte) int {
	if len(b) == 0 {
		return -1
	}
	off := cap(s.body) - cap(b)
	if off < 0 || off >= len(s.body) || &s.body[off] != &b[0] {
		return -1
	}
	return off
}

// string returns b as a string: a slice of the body's copy when b lies in
// the body, else a copy (b held escapes).
func (s *decodeState) string(b []byte) string {
	if off := s.offset(b); off >= 0 {
		return s.str[off : off+len(b)]
	}
	return string(b)
}

// cursor turns offsets in a body into line and column, counting newlines
// incrementally as offsets mostly move forward. A point's measurement,
// tags and first field key are on its first line (only string field values
// may hold a newline), so the offset of any of them gives the point's line.
type cursor struct {
	body      []byte
	pos       int // body[:pos] is counted
	line      int // the line of pos, from 1
	lineStart int // the offset where that line starts
}

// at returns the line and column (both from 1) of off; off < 0 means
// "where the cursor is".
func (c *cursor) at(off int) (line, col int) {
	switch {
	case off < 0:
		off = c.pos
	case off > c.pos:
		seg := c.body[c.pos:off]
		if n := bytes.Count(seg, []byte{'\n'}); n > 0 {
			c.line += n
			c.lineStart = c.pos + bytes.LastIndexByte(seg, '\n') + 1
		}
		c.pos = off
	case off < c.pos:
		if n := bytes.Count(c.body[off:c.pos], []byte{'\n'}); n > 0 {
			c.line -= n
		}
		c.lineStart = bytes.LastIndexByte(c.body[:off], '\n') + 1
		c.pos = off
	}
	return c.line, off - c.lineStart + 1
}

// parseTime parses a decimal timestamp (the decoder has checked it holds
// only '-' and digits) in units of unit nanoseconds; false if it does not
// fit in int64 nanoseconds.
func parseTime(b []byte, unit int64) (int64, bool) {
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg, b = true, b[1:]
	}
	if len(b) == 0 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (math.MaxUint64-9)/10 {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	if n > limit/uint64(unit) {
		return 0, false
	}
	n *= uint64(unit)
	if n > limit {
		return 0, false
	}
	if neg {
		return -int64(n-1) - 1, true // n may be 1<<63
	}
	return int64(n), true
}
