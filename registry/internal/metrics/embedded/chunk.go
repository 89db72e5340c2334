package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"

	"github.com/vigilmon/vigil/registry/internal/metrics"
)

// A chunk is the samples of one series of one value kind, encoded so that it
// can only grow at its end (a query may read a head chunk's bytes while a
// writer appends after them):
//
//	kind byte, then per sample: time, value
//
// Times are zigzag varints: the first absolute, the second a delta, every
// later one a delta of deltas (0, one byte, for a regular interval). Floats
// are XORed with the previous value's bits (0 before the first) and written
// as a control byte lead<<4|trail, the counts of zero bytes at either end of
// the XOR (0x80 alone when it is 0), then the 8-lead-trail bytes between.
// Ints and uints are zigzag varints of the delta from the previous value;
// bools a byte; strings a uvarint length and the bytes.

// appender encodes one chunk. The zero value is unusable; see newAppender.
type appender struct {
	b          []byte
	kind       metrics.Kind
	n          int
	t, dt      int64  // last time and last delta
	prev       uint64 // last float bits, int or uint
	minT, maxT int64
}

func newAppender(kind metrics.Kind, capacity int) appender {
	b := make([]byte, 1, max(capacity, 1))
	b[0] = byte(kind)
	return appender{b: b, kind: kind}
}

// append adds one sample; v.Kind must be the chunk's kind.
func (a *appender) append(t int64, v metrics.Value) {
	switch a.n {
	case 0:
		a.b = binary.AppendVarint(a.b, t)
		a.minT, a.maxT = t, t
	case 1:
		a.dt = t - a.t
		a.b = binary.AppendVarint(a.b, a.dt)
	default:
		dt := t - a.t
		a.b = binary.AppendVarint(a.b, dt-a.dt)
		a.dt = dt
	}
	a.t = t
	a.minT, a.maxT = min(a.minT, t), max(a.maxT, t)
	switch a.kind {
	case metrics.Float:
		x := math.Float64bits(v.F)
		a.b = appendXOR(a.b, x^a.prev)
		a.prev = x
	case metrics.Int:
		a.b = binary.AppendVarint(a.b, v.I-int64(a.prev))
		a.prev = uint64(v.I)
	case metrics.Uint:
		a.b = binary.AppendVarint(a.b, int64(v.U-a.prev))
		a.prev = v.U
	case metrics.Bool:
		var c byte
		if v.B {
			c = 1
		}
		a.b = append(a.b, c)
	case metrics.String:
		a.b = binary.AppendUvarint(a.b, uint64(len(v.S)))
		a.b = append(a.b, v.S...)
	}
	a.n++
}

func appendXOR(b []byte, x uint64) []byte {
	if x == 0 {
		return append(b, 0x80)
	}
	lead := bits.LeadingZeros64(x) / 8
	trail := bits.TrailingZeros64(x) / 8
	b = append(b, byte(lead<<4|trail))
	x >>= 8 * trail
	for i := 8 - lead - trail - 1; i >= 0; i-- {
		b = append(b, byte(x>>(8*i)))
	}
	return b
}

// errCorruptChunk is wrapped by every decoding error: a chunk read back is
// not what an appender wrote.
var errCorruptChunk = errors.New("corrupt chunk")

// chunkIter decodes a chunk. Next advances; At and Number read the current
// sample; Err reports why Next stopped early.
type chunkIter struct {
	b     []byte
	off   int
	kind  metrics.Kind
	n     int
	t, dt int64
	prev  uint64
	s     []byte // current string
	err   error
}

func newChunkIter(b []byte) chunkIter {
	it := chunkIter{b: b}
	if len(b) == 0 {
		it.err = fmt.Errorf("%w: empty", errCorruptChunk)
		return it
	}
	it.kind = metrics.Kind(b[0])
	if it.kind < metrics.Float || it.kind > metrics.String {
		it.err = fmt.Errorf("%w: unknown kind %d", errCorruptChunk, b[0])
	}
	it.off = 1
	return it
}

func (it *chunkIter) fail(what string) bool {
	it.err = fmt.Errorf("%w: sample %d: bad %s at byte %d", errCorruptChunk, it.n, what, it.off)
	return false
}

func (it *chunkIter) varint() (int64, bool) {
	v, k := binary.Varint(it.b[it.off:])
	if k <= 0 {
		return 0, false
	}
	it.off += k
	return v, true
}

// Next decodes the next sample; false at the end or on error.
func (it *chunkIter) Next() bool {
	if it.err != nil || it.off >= len(it.b) {
		return false
	}
	d, ok := it.varint()
	if !ok {
		return it.fail("time")
	}
	switch it.n {
	case 0:
		it.t = d
	case 1:
		it.dt = d
		it.t += d
	default:
		it.dt += d
		it.t += it.dt
	}
	switch it.kind {
	case metrics.Float:
		if it.off >= len(it.b) {
			return it.fail("float")
		}
		c := it.b[it.off]
		lead, trail := int(c>>4), int(c&0x0f)
		w := 8 - lead - trail
		if w < 0 || it.off+1+w > len(it.b) {
			return it.fail("float")
		}
		var x uint64
		for _, c := range it.b[it.off+1 : it.off+1+w] {
			x = x<<8 | uint64(c)
		}
		if w > 0 {
			x <<= 8 * trail
		}
		it.prev ^= x
		it.off += 1 + w
	case metrics.Int, metrics.Uint:
		d, ok := it.varint()
		if !ok {
			return it.fail("integer")
		}
		it.prev += uint64(d)
	case metrics.Bool:
		if it.off >= len(it.b) || it.b[it.off] > 1 {
			return it.fail("bool")
		}
		it.prev = uint64(it.b[it.off])
		it.off++
	case metrics.String:
		l, k := binary.Uvarint(it.b[it.off:])
		if k <= 0 || l > uint64(len(it.b)-it.off-k) {
			return it.fail("string")
		}
		it.s = it.b[it.off+k : it.off+k+int(l)]
		it.off += k + int(l)
	}
	it.n++
	return true
}

// Time is the current sample's time.
func (it *chunkIter) Time() int64 { return it.t }

// Number is the current sample as a float64, false for bools and strings.
func (it *chunkIter) Number() (float64, bool) {
	switch it.kind {
	case metrics.Float:
		return math.Float64frombits(it.prev), true
	case metrics.Int:
		return float64(int64(it.prev)), true
	case metrics.Uint:
		return float64(it.prev), true
	}
	return 0, false
}

// At is the current sample's value.
func (it *chunkIter) At() metrics.Value {
	v := metrics.Value{Kind: it.kind}
	switch it.kind {
	case metrics.Float:
		v.F = math.Float64frombits(it.prev)
	case metrics.Int:
		v.I = int64(it.prev)
	case metrics.Uint:
		v.U = it.prev
	case metrics.Bool:
		v.B = it.prev == 1
	case metrics.String:
		v.S = string(it.s)
	}
	return v
}

// Err is the decoding error that stopped Next, if any.
func (it *chunkIter) Err() error { return it.err }
