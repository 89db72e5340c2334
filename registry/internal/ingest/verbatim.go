package ingest

import (
	"bytes"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
)

// Verbatim bodies. A store that keeps line protocol (metrics.LineWriter)
// can take a request's body as is when each line is already in the form
// it would write: the same text, byte for byte, as encoding the decoded
// point again. An agent's batch always is. Proving it costs a few
// comparisons per piece of a line, as the decoder hands every piece back
// as a slice of the body (no escapes: decode rules bodies with a backslash
// out up front): each piece must start one separator byte after the end
// of the one before, that byte being the one the plain form puts there,
// and each field value must be written in the one form InfluxDB 1.x and
// the decoder read alike.

// layout follows one line's pieces while they are in the plain form.
type layout struct {
	ok   bool
	next int                    // offset just past the last piece followed
	val  int                    // offset of the field value not yet checked, or -1
	kind lineprotocol.ValueKind // its kind
}

// first follows the measurement, which must start the line where the
// previous one ended.
func (s *decodeState) first(l *layout, off int, m []byte) {
	if !l.ok {
		return
	}
	if off != s.lineStart {
		l.ok = false
		return
	}
	l.next = off + len(m)
}

// follow follows piece b, which must come right after sep; sep itself must
// come right after the previous piece, or after a field value that is in
// the plain form.
func (s *decodeState) follow(l *layout, sep byte, b []byte) {
	if !l.ok {
		return
	}
	off := s.offset(b)
	switch {
	case off <= 0 || s.body[off-1] != sep:
		l.ok = false
	case l.val >= 0:
		l.ok = off-1 >= l.val && plainValue(l.kind, s.body[l.val:off-1])
		l.val = -1
	default:
		l.ok = off == l.next+1
	}
	l.next = off + len(b)
}

// value notes that a field value of kind starts after the field key just
// followed; it is checked when the piece after it shows where it ends.
func (s *decodeState) value(l *layout, kind lineprotocol.ValueKind) {
	if !l.ok {
		return
	}
	if l.next >= len(s.body) || s.body[l.next] != '=' || kind == lineprotocol.Uint {
		l.ok = false // InfluxDB 1.x takes no unsigned integers
		return
	}
	l.val, l.kind = l.next+1, kind
}

// end follows the timestamp tb, which the plain form always has, and the
// end of the line; the next line must start right after it.
func (s *decodeState) end(l *layout, tb []byte) {
	if tb == nil {
		l.ok = false
	}
	s.follow(l, ' ', tb)
	if !l.ok {
		return
	}
	if l.next < len(s.body) && s.body[l.next] != '\n' {
		l.ok = false
		return
	}
	s.lineStart = l.next + 1
}

// plainValue reports whether v, a field value of kind as the decoder
// accepted it, is also read the same by InfluxDB 1.x: floats as
// -?digits[.digits][(e|E)[+-]digits] (the decoder would also take hex,
// a leading dot or a trailing one), strings without a newline (which the
// forwarder would cut lines at). Integers and booleans are already so.
func plainValue(kind lineprotocol.ValueKind, v []byte) bool {
	switch kind {
	case lineprotocol.Float:
		return plainFloat(v)
	case lineprotocol.String:
		return len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' && bytes.IndexByte(v, '\n') < 0
	case lineprotocol.Int, lineprotocol.Bool:
		return true
	}
	return false
}

func plainFloat(v []byte) bool {
	i := 0
	if i < len(v) && v[i] == '-' {
		i++
	}
	n := digits(v[i:])
	if n == 0 {
		return false
	}
	i += n
	if i < len(v) && v[i] == '.' {
		i++
		n = digits(v[i:])
		if n == 0 {
			return false
		}
		i += n
	}
	if i < len(v) && (v[i] == 'e' || v[i] == 'E') {
		i++
		if i < len(v) && (v[i] == '+' || v[i] == '-') {
			i++
		}
		n = digits(v[i:])
		if n == 0 {
			return false
		}
		i += n
	}
	return i == len(v)
}

// digits counts the decimal digits at the start of b.
func digits(b []byte) int {
	n := 0
	for n < len(b) && b[n] >= '0' && b[n] <= '9' {
		n++
	}
	return n
}
