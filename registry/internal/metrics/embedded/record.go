package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/vigilmon/vigil/registry/internal/metrics"
)

// A WAL record is one Write:
//
//	version byte (1)
//	uvarint count of definitions, each:
//	    uvarint id, string measurement, string field, uvarint tag count, (string key, string value)...
//	uvarint count of points, each:
//	    varint time delta from the previous point (0 before the first), uvarint field count, each:
//	        uvarint id<<3 | kind, value
//
// A string is a uvarint length and the bytes. A float value is its 8 bits
// little-endian, an int a zigzag varint, a uint a uvarint, a bool a byte.
// A definition precedes the first use of a series in the log; a series
// named before its definition is durable repeats it (replay keeps the first).

const recordVersion = 1

// encodeRecord appends the framed record of points, whose fields resolve to
// refs in order, defining defs first.
func encodeRecord(b []byte, defs []*series, points []metrics.Point, refs []*series) []byte {
	start := len(b)
	b = append(b, make([]byte, frameHeader)...)
	b = append(b, recordVersion)
	b = binary.AppendUvarint(b, uint64(len(defs)))
	for _, s := range defs {
		b = binary.AppendUvarint(b, s.id)
		b = appendString(b, s.set.measurement)
		b = appendString(b, s.field)
		b = binary.AppendUvarint(b, uint64(len(s.set.tags)))
		for _, t := range s.set.tags {
			b = appendString(b, t.Key)
			b = appendString(b, t.Value)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(points)))
	var prev int64
	k := 0
	for i := range points {
		p := &points[i]
		b = binary.AppendVarint(b, p.Time-prev)
		prev = p.Time
		b = binary.AppendUvarint(b, uint64(len(p.Fields)))
		for j := range p.Fields {
			v := &p.Fields[j].Value
			b = binary.AppendUvarint(b, refs[k].id<<3|uint64(v.Kind))
			k++
			switch v.Kind {
			case metrics.Float:
				b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v.F))
			case metrics.Int:
				b = binary.AppendVarint(b, v.I)
			case metrics.Uint:
				b = binary.AppendUvarint(b, v.U)
			case metrics.Bool:
				if v.B {
					b = append(b, 1)
				} else {
					b = append(b, 0)
				}
			case metrics.String:
				b = appendString(b, v.S)
			}
		}
	}
	payload := b[start+frameHeader:]
	binary.LittleEndian.PutUint32(b[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(payload, crcTable))
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// errBadRecord is wrapped by every record decoding error.
var errBadRecord = errors.New("bad write-ahead log record")

// recordReader decodes a record payload with bounds checks throughout.
type recordReader struct {
	b   []byte
	off int
	err error
}

func (r *recordReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: bad %s at byte %d", errBadRecord, what, r.off)
	}
}

func (r *recordReader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, k := binary.Uvarint(r.b[r.off:])
	if k <= 0 {
		r.fail(what)
		return 0
	}
	r.off += k
	return v
}

func (r *recordReader) varint(what string) int64 {
	if r.err != nil {
		return 0
	}
	v, k := binary.Varint(r.b[r.off:])
	if k <= 0 {
		r.fail(what)
		return 0
	}
	r.off += k
	return v
}

func (r *recordReader) bytes(n uint64, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)-r.off) {
		r.fail(what)
		return nil
	}
	v := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return v
}

func (r *recordReader) string(what string) string {
	return string(r.bytes(r.uvarint(what), what))
}

// recordSink receives a decoded record.
type recordSink interface {
	define(id uint64, measurement string, tags []metrics.Tag, field string)
	sample(id uint64, t int64, v metrics.Value)
}

// decodeRecord decodes payload into sink, definitions first. On error the
// record may be partly delivered: callers treat what came as best effort.
func decodeRecord(payload []byte, sink recordSink) error {
	r := &recordReader{b: payload}
	if len(payload) == 0 || payload[0] != recordVersion {
		return fmt.Errorf("%w: unknown version", errBadRecord)
	}
	r.off = 1
	var tags []metrics.Tag
	for n := r.uvarint("definition count"); n > 0 && r.err == nil; n-- {
		id := r.uvarint("series id")
		m := r.string("measurement")
		f := r.string("field")
		nt := r.uvarint("tag count")
		if nt > uint64(len(r.b)) {
			r.fail("tag count")
		}
		tags = tags[:0]
		for ; nt > 0 && r.err == nil; nt-- {
			k := r.string("tag key")
			v := r.string("tag value")
			tags = append(tags, metrics.Tag{Key: k, Value: v})
		}
		if r.err == nil {
			if id == 0 || id > math.MaxUint64>>3 {
				r.fail("series id")
				break
			}
			sink.define(id, m, tags, f)
		}
	}
	var t int64
	for n := r.uvarint("point count"); n > 0 && r.err == nil; n-- {
		t += r.varint("time")
		for nf := r.uvarint("field count"); nf > 0 && r.err == nil; nf-- {
			ref := r.uvarint("series")
			v := metrics.Value{Kind: metrics.Kind(ref & 7)}
			switch v.Kind {
			case metrics.Float:
				if b := r.bytes(8, "float"); b != nil {
					v.F = math.Float64frombits(binary.LittleEndian.Uint64(b))
				}
			case metrics.Int:
				v.I = r.varint("int")
			case metrics.Uint:
				v.U = r.uvarint("uint")
			case metrics.Bool:
				b := r.bytes(1, "bool")
				if r.err == nil && b[0] > 1 {
					r.fail("bool")
				}
				v.B = r.err == nil && b[0] == 1
			case metrics.String:
				v.S = r.string("string")
			default:
				r.fail("kind")
			}
			if r.err == nil {
				sink.sample(ref>>3, t, v)
			}
		}
	}
	if r.err == nil && r.off != len(r.b) {
		r.fail("trailing bytes")
	}
	return r.err
}
