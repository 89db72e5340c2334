package ingest

import (
	"bytes"
	"context"
	"slices"
	"unicode/utf8"

	"github.com/vigilmon/vigil/registry/internal/metrics"
)

// Plain bodies. An agent's batch is always in the plain form that
// metrics.LineWriter takes (see verbatim.go): one line per point,
// `measurement(,key=value)* key=value(,key=value)* timestamp`, no escapes,
// single separators, tags sorted, node and plugin tags set. Such a body
// needs none of the general decoder's work (escapes, comments, blank
// lines, defaults, rewrites, positions of errors), so decodePlain reads it
// with a few table lookups per byte. It accepts a body only when every
// line is plain and every point goes in unchanged, and then produces
// exactly what decodeV2 would; anything else (a bad line, a rewrite, a
// flag) is left to decodeV2, so behaviour never depends on which path ran.
// FuzzPlainMatchesDecode holds the two to that.

// Byte classes of the plain form, as the v2 decoder draws them.
const (
	endsMeasurement = 1 << iota // ',' ' ' or a control byte: where v2 ends a measurement
	endsName                    // ',' '=' ' ' or a control byte: where v2 ends a tag key or value, or a field key
	endsValue                   // ',' ' ' '\r' '\n': where v2 ends a number or a boolean
)

var plainClass = func() (t [256]uint8) {
	for c := range 32 {
		t[c] = endsMeasurement | endsName
	}
	t[0x7f] = endsMeasurement | endsName
	t[','] = endsMeasurement | endsName | endsValue
	t[' '] = endsMeasurement | endsName | endsValue
	t['='] = endsName
	t['\r'] |= endsValue
	t['\n'] |= endsValue
	return t
}()

// scan returns the index of the first byte at or after i of class, or
// len(b).
func scan(b []byte, i int, class uint8) int {
	for i < len(b) && plainClass[b[i]]&class == 0 {
		i++
	}
	return i
}

// decodePlain decodes body into d (reset) if every line of it is in the
// plain form and every point is accepted unchanged; it returns false, with
// d reset again, otherwise, and the caller decodes with decodeV2. An error
// is the approval check's (as decode's).
func decodePlain(ctx context.Context, body []byte, r rules, d *decoded) (bool, error) {
	if r.unit != 1 || len(body) == 0 || bytes.IndexByte(body, '\\') >= 0 || bytes.IndexByte(body, '\r') >= 0 || !utf8.Valid(body) {
		return false, nil
	}
	// Tokens end at ASCII bytes, so each is valid UTF-8 as the body is.
	p := plainState{b: body, str: string(body), r: r, d: d}
	for i := 0; i < len(body); {
		next, ok, err := p.line(ctx, i)
		if err != nil {
			return false, err
		}
		if !ok {
			d.reset()
			return false, nil
		}
		i = next
	}
	d.verbatim = true
	return true, nil
}

// plainState is decodePlain's working state for one body.
type plainState struct {
	b   []byte
	str string // b as a string, which points' strings slice
	r   rules
	d   *decoded

	// the last plugin judged, as decodeState.judge caches it
	lastNode, lastPlugin string
	lastVerdict          verdict
	judged               bool
}

// line decodes the plain line at b[i:] into a point, returning where the
// next line starts; false if the line is not plain or its point would not
// go in unchanged.
func (p *plainState) line(ctx context.Context, i int) (int, bool, error) {
	b, str, d := p.b, p.str, p.d
	tag0, field0 := len(d.tags), len(d.fields)

	j := scan(b, i, endsMeasurement)
	if j == i || j >= len(b) || b[i] == '#' {
		return 0, false, nil
	}
	pt := metrics.Point{Measurement: str[i:j]}
	var node, plugin string
	hasNode := false
	for b[j] == ',' {
		k0 := j + 1
		k1 := scan(b, k0, endsName)
		if k1 == k0 || k1 >= len(b) || b[k1] != '=' {
			return 0, false, nil
		}
		v0 := k1 + 1
		v1 := scan(b, v0, endsName)
		if v1 == v0 || v1 >= len(b) {
			return 0, false, nil
		}
		key, val := str[k0:k1], str[v0:v1]
		if n := len(d.tags); n > tag0 && d.tags[n-1].Key >= key {
			return 0, false, nil // unsorted or duplicate: decodeV2 sorts or rejects
		}
		switch key {
		case "node":
			node, hasNode = val, true
		case "plugin":
			plugin = val
		}
		d.tags = append(d.tags, metrics.Tag{Key: key, Value: val})
		j = v1
	}
	if b[j] != ' ' {
		return 0, false, nil
	}
	j++
	for {
		k1 := scan(b, j, endsName)
		if k1 == j || k1+1 >= len(b) || b[k1] != '=' {
			return 0, false, nil
		}
		f := metrics.Field{Key: str[j:k1]}
		v0 := k1 + 1
		var ok bool
		if f.Value, j, ok = p.value(v0); !ok || j >= len(b) {
			return 0, false, nil
		}
		d.fields = append(d.fields, f)
		if b[j] == ',' {
			j++
			continue
		}
		if b[j] != ' ' {
			return 0, false, nil
		}
		break
	}

	// The timestamp, then the end of the line or of the body.
	t0 := j + 1
	t1 := t0
	if t1 < len(b) && b[t1] == '-' {
		t1++
	}
	t1 += digits(b[t1:])
	if t1 < len(b) && b[t1] != '\n' {
		return 0, false, nil
	}
	ts, ok := parseTime(b[t0:t1], 1)
	if !ok {
		return 0, false, nil
	}
	pt.Time = ts

	// The checks of decodeState.check that could change the point.
	if !hasNode || p.r.node != "" && node != p.r.node {
		return 0, false, nil // decodeV2 adds the node tag or rejects the line
	}
	if plugin != "" && p.r.approve != nil && !exempt(plugin) {
		v, err := p.judge(ctx, node, plugin)
		if err != nil {
			return 0, false, err
		}
		if v != approved {
			return 0, false, nil // decodeV2 flags or rejects it
		}
	}
	pt.Tags = d.tags[tag0:len(d.tags):len(d.tags)]
	// uniqueFields sorts many fields, as decodeV2 does, and leaves a few
	// in place unless two share a key.
	pt.Fields = uniqueFields(d.fields[field0:len(d.fields):len(d.fields)])
	if len(pt.Fields) != len(d.fields)-field0 {
		return 0, false, nil // a duplicate field: decodeV2 keeps the last
	}
	d.points = append(d.points, pt)
	d.lines++
	if n := len(d.nodes); n == 0 || d.nodes[n-1] != node && !slices.Contains(d.nodes, node) {
		d.nodes = append(d.nodes, node)
	}
	return t1 + 1, true, nil
}

// value reads the plain field value at b[v0:] (v0 < len(b)), returning it
// and the index just past it; false if it is not in the plain form or v2
// would refuse it.
func (p *plainState) value(v0 int) (metrics.Value, int, bool) {
	b, str := p.b, p.str
	switch c := b[v0]; {
	case c == '"':
		e := bytes.IndexByte(b[v0+1:], '"')
		if e < 0 {
			return metrics.Value{}, 0, false
		}
		e += v0 + 1
		if bytes.IndexByte(b[v0+1:e], '\n') >= 0 {
			return metrics.Value{}, 0, false
		}
		return metrics.Value{Kind: metrics.String, S: str[v0+1 : e]}, e + 1, true
	case c == 't' || c == 'T' || c == 'f' || c == 'F':
		e := scan(b, v0, endsValue)
		switch str[v0:e] {
		case "t", "T", "true", "True", "TRUE":
			return metrics.Value{Kind: metrics.Bool, B: true}, e, true
		case "f", "F", "false", "False", "FALSE":
			return metrics.Value{Kind: metrics.Bool, B: false}, e, true
		}
		return metrics.Value{}, 0, false
	case c == '-' || c >= '0' && c <= '9':
		e := scan(b, v0, endsValue)
		switch b[e-1] {
		case 'i':
			// parseTime in units of 1 is strconv.ParseInt for -?digits.
			n, ok := parseTime(b[v0:e-1], 1)
			if !ok {
				return metrics.Value{}, 0, false
			}
			return metrics.Value{Kind: metrics.Int, I: n}, e, true
		case 'u':
			return metrics.Value{}, 0, false // InfluxDB 1.x takes no unsigned integers
		}
		f, ok := parsePlainFloat(str[v0:e])
		if !ok {
			return metrics.Value{}, 0, false // not plain, or out of range: decodeV2 rejects it
		}
		return metrics.Value{Kind: metrics.Float, F: f}, e, true
	}
	return metrics.Value{}, 0, false
}

// judge is decodeState.judge: the approval check, with the last verdict
// cached.
func (p *plainState) judge(ctx context.Context, node, plugin string) (verdict, error) {
	if p.judged && node == p.lastNode && plugin == p.lastPlugin {
		return p.lastVerdict, nil
	}
	v, _, err := p.r.approve(ctx, node, plugin)
	if err != nil {
		return 0, err
	}
	p.judged, p.lastNode, p.lastPlugin, p.lastVerdict = true, node, plugin, v
	return v, nil
}

// hasDuplicateField reports whether two of fs (at most maxUnsortedFields
// of them: it compares every pair) have the same key, reading only.
func hasDuplicateField(fs []metrics.Field) bool {
	for i := 1; i < len(fs); i++ {
		for j := range i {
			if fs[i].Key == fs[j].Key {
				return true
			}
		}
	}
	return false
}
