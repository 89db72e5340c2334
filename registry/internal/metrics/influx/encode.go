package influx

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vigilmon/vigil/registry/internal/metrics"
)

// encoded is what encoding a Write's points produced.
type encoded struct {
	points        int // lines written
	droppedPoints int // points that could not be written at all
	droppedFields int // fields left out of a written line (NaN, ±Inf, uint > MaxInt64)
}

// appendPoints appends pts to b as line protocol for InfluxDB 1.x, one
// line per point, timestamps in nanoseconds.
//
// It is hand-written rather than the v2 Encoder because it runs on the
// ingest path, and it heeds what InfluxDB 1.x needs (LINEPROTOCOL.md):
// tags sorted (a copy is sorted if they are not), empty tag values left
// out, uints written as ints, NaN and ±Inf fields left out, invalid UTF-8
// in strings replaced by U+FFFD. A point whose
// measurement, tag or field key cannot be represented (see validName; a
// measurement starting with '#' would be read as a comment), or that has
// duplicate tag keys or no field left, is dropped and counted.
func appendPoints(b []byte, pts []metrics.Point) ([]byte, encoded) {
	var e encoded
	var sorted []metrics.Tag
	for i := range pts {
		p := &pts[i]
		if !validName(p.Measurement, measurementEscapes) || p.Measurement[0] == '#' {
			e.droppedPoints++
			continue
		}
		tags := p.Tags
		if !tagsSorted(tags) {
			sorted = append(sorted[:0], tags...)
			slices.SortStableFunc(sorted, func(a, b metrics.Tag) int { return strings.Compare(a.Key, b.Key) })
			tags = sorted
		}
		start := len(b)
		b = appendEscaped(b, p.Measurement, measurementEscapes)
		ok := true
		prev := ""
		for j, t := range tags {
			if t.Value == "" {
				continue
			}
			if !validName(t.Key, keyEscapes) || !validName(t.Value, keyEscapes) || (j > 0 && t.Key == prev) {
				ok = false
				break
			}
			prev = t.Key
			b = append(b, ',')
			b = appendEscaped(b, t.Key, keyEscapes)
			b = append(b, '=')
			b = appendEscaped(b, t.Value, keyEscapes)
		}
		fields, skipped := 0, 0
		for j := 0; ok && j < len(p.Fields); j++ {
			f := &p.Fields[j]
			if !validName(f.Key, keyEscapes) {
				ok = false
				break
			}
			if !representable(f.Value) {
				skipped++
				continue
			}
			if fields == 0 {
				b = append(b, ' ')
			} else {
				b = append(b, ',')
			}
			fields++
			b = appendEscaped(b, f.Key, keyEscapes)
			b = append(b, '=')
			b = appendValue(b, f.Value)
		}
		if !ok || fields == 0 {
			b = b[:start]
			e.droppedPoints++
			continue
		}
		e.droppedFields += skipped
		b = append(b, ' ')
		b = strconv.AppendInt(b, p.Time, 10)
		b = append(b, '\n')
		e.points++
	}
	return b, e
}

func tagsSorted(tags []metrics.Tag) bool {
	for i := 1; i < len(tags); i++ {
		if tags[i-1].Key > tags[i].Key {
			return false
		}
	}
	return true
}

// representable reports whether InfluxDB 1.x can store v.
func representable(v metrics.Value) bool {
	switch v.Kind {
	case metrics.Float:
		return !math.IsNaN(v.F) && !math.IsInf(v.F, 0)
	case metrics.Uint:
		return v.U <= math.MaxInt64
	case metrics.Int, metrics.Bool, metrics.String:
		return true
	}
	return false
}

func appendValue(b []byte, v metrics.Value) []byte {
	switch v.Kind {
	case metrics.Float:
		return strconv.AppendFloat(b, v.F, 'g', -1, 64)
	case metrics.Int:
		return append(strconv.AppendInt(b, v.I, 10), 'i')
	case metrics.Uint:
		return append(strconv.AppendUint(b, v.U, 10), 'i')
	case metrics.Bool:
		return strconv.AppendBool(b, v.B)
	default: // metrics.String
		s := v.S
		if !utf8.ValidString(s) {
			s = strings.ToValidUTF8(s, "\uFFFD")
		}
		b = append(b, '"')
		b = appendEscaped(b, s, stringEscapes)
		return append(b, '"')
	}
}

// escapes is the set of bytes a backslash must precede in one part of a line.
type escapes [256]bool

func escapeSet(chars string) *escapes {
	var e escapes
	for i := 0; i < len(chars); i++ {
		e[chars[i]] = true
	}
	return &e
}

var (
	measurementEscapes = escapeSet(", ")
	keyEscapes         = escapeSet(",= ") // tag keys, tag values and field keys
	stringEscapes      = escapeSet(`"\`)  // InfluxDB 1.x keeps newlines in strings as they are
)

func appendEscaped(b []byte, s string, esc *escapes) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		if esc[s[i]] {
			b = append(b, s[last:i]...)
			b = append(b, '\\', s[i])
			last = i + 1
		}
	}
	return append(b, s[last:]...)
}

// validName reports whether s can be a measurement, a key or a tag value
// escaped with esc: not empty, valid UTF-8, no control characters, and no
// backslash at the end or before a character that esc escapes (InfluxDB
// 1.x reads such a backslash as escaping the separator or the escape).
func validName(s string, esc *escapes) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c == 0x7f:
			return false
		case c == '\\' && (i == len(s)-1 || esc[s[i+1]]):
			return false
		}
	}
	return utf8.ValidString(s)
}
