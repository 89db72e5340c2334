package embedded

import (
	"encoding/binary"
	"hash/crc32"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/registry/internal/metrics"
)

// collectSink records what a decoded record delivers.
type collectSink struct {
	Defs    []recDef
	Samples []recSample
}

type recDef struct {
	ID          uint64
	Measurement string
	Tags        []metrics.Tag
	Field       string
}

type recSample struct {
	ID uint64
	T  int64
	V  metrics.Value
}

func (c *collectSink) define(id uint64, m string, tags []metrics.Tag, f string) {
	c.Defs = append(c.Defs, recDef{id, m, append([]metrics.Tag(nil), tags...), f})
}

func (c *collectSink) sample(id uint64, t int64, v metrics.Value) {
	c.Samples = append(c.Samples, recSample{id, t, v})
}

// testRecord encodes a record of every value kind over two series.
func testRecord() ([]byte, collectSink) {
	d := newDict()
	tags := []metrics.Tag{{Key: "node", Value: "web-1"}, {Key: "z", Value: "q \"x\""}}
	key := appendSetKey(nil, "cpu", tags)
	a, _ := d.add(key, "cpu", tags, "usage", 0)
	b, _ := d.add(key, "cpu", tags, "state", 0)
	points := []metrics.Point{
		{Measurement: "cpu", Tags: tags, Time: 1_700_000_000_000_000_000, Fields: []metrics.Field{
			{Key: "usage", Value: metrics.Value{Kind: metrics.Float, F: math.Inf(-1)}},
			{Key: "state", Value: metrics.Value{Kind: metrics.String, S: "ok"}},
		}},
		{Measurement: "cpu", Tags: tags, Time: -5, Fields: []metrics.Field{
			{Key: "usage", Value: metrics.Value{Kind: metrics.Int, I: math.MinInt64}},
			{Key: "state", Value: metrics.Value{Kind: metrics.Bool, B: true}},
		}},
		{Measurement: "cpu", Tags: tags, Time: math.MaxInt64, Fields: []metrics.Field{
			{Key: "usage", Value: metrics.Value{Kind: metrics.Uint, U: math.MaxUint64}},
		}},
	}
	rec := encodeRecord(nil, []*series{a, b}, points, []*series{a, b, a, b, a})
	want := collectSink{
		Defs: []recDef{{a.id, "cpu", tags, "usage"}, {b.id, "cpu", tags, "state"}},
		Samples: []recSample{
			{a.id, points[0].Time, points[0].Fields[0].Value}, {b.id, points[0].Time, points[0].Fields[1].Value},
			{a.id, points[1].Time, points[1].Fields[0].Value}, {b.id, points[1].Time, points[1].Fields[1].Value},
			{a.id, points[2].Time, points[2].Fields[0].Value},
		},
	}
	return rec, want
}

func TestRecordRoundTrip(t *testing.T) {
	rec, want := testRecord()
	if n := binary.LittleEndian.Uint32(rec); int(n) != len(rec)-frameHeader {
		t.Fatalf("frame length %d; want %d", n, len(rec)-frameHeader)
	}
	if crc := binary.LittleEndian.Uint32(rec[4:]); crc != crc32.Checksum(rec[frameHeader:], crcTable) {
		t.Fatalf("frame CRC %x does not match the payload", crc)
	}
	var got collectSink
	if err := decodeRecord(rec[frameHeader:], &got); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
}

func TestRecordCorrupt(t *testing.T) {
	rec, _ := testRecord()
	payload := rec[frameHeader:]
	cases := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"unknown version", append([]byte{9}, payload[1:]...)},
		{"truncated", payload[:len(payload)-3]},
		{"trailing bytes", append(append([]byte(nil), payload...), 0)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := decodeRecord(tc.b, &collectSink{}); err == nil {
				t.Error("no error")
			}
		})
	}
}

// FuzzRecord: a log record read back from disk never panics the decoder.
func FuzzRecord(f *testing.F) {
	rec, _ := testRecord()
	f.Add(rec[frameHeader:])
	f.Add([]byte{recordVersion, 0, 1, 0, 1, 8 | byte(metrics.Float)})
	f.Add([]byte{recordVersion, 1, 1, 1, 'm', 1, 'f', 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		var c collectSink
		_ = decodeRecord(b, &c)
		for _, s := range c.Samples {
			if s.V.Kind < metrics.Float || s.V.Kind > metrics.String {
				t.Fatalf("delivered a sample of kind %d", s.V.Kind)
			}
		}
	})
}
