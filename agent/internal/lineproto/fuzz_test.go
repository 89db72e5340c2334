package lineproto

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/vigilmon/vigil/sdk/metric"
)

// fuzzReader hands out fuzz bytes as choices; it returns zeros when empty.
type fuzzReader struct{ b []byte }

func (r *fuzzReader) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *fuzzReader) u64() uint64 {
	var buf [8]byte
	n := copy(buf[:], r.b)
	r.b = r.b[n:]
	return binary.LittleEndian.Uint64(buf[:])
}

// name is one of nastyNames or up to 15 raw bytes (any UTF-8 or not).
func (r *fuzzReader) name() string {
	c := r.byte()
	if c < 128 {
		return nastyNames[int(c)%len(nastyNames)]
	}
	n := min(int(c&15), len(r.b))
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// fuzzBatch builds a structurally valid batch from fuzz bytes; names,
// values and times are arbitrary. Own tags are sorted and unique, as in
// any batch the host accepts.
func fuzzBatch(data []byte) (node string, agentTags map[string]string, plugin string, b *metric.Batch) {
	r := &fuzzReader{data}
	node, plugin = r.name(), r.name()
	agentTags = map[string]string{}
	for range r.byte() % 3 {
		agentTags[r.name()] = r.name()
	}
	b = &metric.Batch{}
	for range 1 + r.byte()%4 {
		s := metric.Series{Measurement: r.name()}
		tags := map[string]string{}
		for range r.byte() % 4 {
			tags[r.name()] = r.name()
		}
		for _, k := range sortedKeys(tags) {
			s.Tags = append(s.Tags, metric.Tag{Key: k, Value: tags[k]})
		}
		for range 1 + r.byte()%3 {
			s.Fields = append(s.Fields, metric.Field{Key: r.name(), Type: metric.FieldType(1 + r.byte()%5)})
		}
		b.Series = append(b.Series, s)
	}
	for range r.byte() % 16 {
		si := int(r.byte()) % len(b.Series)
		b.PointSeries = append(b.PointSeries, uint32(si))
		b.Times = append(b.Times, int64(r.u64()))
		for _, f := range b.Series[si].Fields {
			switch f.Type {
			case metric.Float:
				b.Floats = append(b.Floats, math.Float64frombits(r.u64()))
			case metric.Int:
				b.Ints = append(b.Ints, int64(r.u64()))
			case metric.Uint:
				b.Uints = append(b.Uints, r.u64())
			case metric.Bool:
				b.Bools = append(b.Bools, r.byte()&1 == 1)
			case metric.String:
				b.Strings = append(b.Strings, r.name())
			}
		}
	}
	return node, agentTags, plugin, b
}

func FuzzEncodeRoundTrip(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"))
	f.Add([]byte{1, 2, 1, 3, 4, 0, 2, 5, 6, 2, 7, 1, 8, 3, 4, 5, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	f.Add([]byte("\x83abc\x82de\x01\x84a\\ b\x02\x03\x8ex y,z=\"q\\\\\x01\x02\x05\x86\xff\xfe\xc3\xa9\x00\x01\x0f"))
	f.Add([]byte("\x10\x11\x02\x12\x13\x14\x15\x03\x16\x03\x17\x18\x19\x01\x00\x04\x00\xff\xff\xff\xff\xff\xff\xf8\x7f"))
	f.Fuzz(func(t *testing.T, data []byte) {
		node, agentTags, plugin, b := fuzzBatch(data)
		checkRoundTrip(t, node, agentTags, plugin, b)
	})
}
