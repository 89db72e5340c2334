package embedded

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/registry/internal/metrics"
)

// tv is one decoded sample.
type tv struct {
	T int64
	V metrics.Value
}

// bitsEqual compares floats by their bits, so NaN equals NaN and -0 does
// not equal 0: a chunk must give back exactly what it was given.
var bitsEqual = cmp.Comparer(func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) })

func encodeChunk(kind metrics.Kind, samples []tv) []byte {
	a := newAppender(kind, 0)
	for _, s := range samples {
		a.append(s.T, s.V)
	}
	return a.b
}

func decodeChunk(b []byte) ([]tv, error) {
	var out []tv
	it := newChunkIter(b)
	for it.Next() {
		out = append(out, tv{it.Time(), it.At()})
	}
	return out, it.Err()
}

func floats(ts []int64, vs ...float64) []tv {
	out := make([]tv, len(vs))
	for i, v := range vs {
		out[i] = tv{ts[i], metrics.Value{Kind: metrics.Float, F: v}}
	}
	return out
}

func TestChunkRoundTrip(t *testing.T) {
	regular := []int64{1e18, 1e18 + 10e9, 1e18 + 20e9, 1e18 + 30e9, 1e18 + 40e9, 1e18 + 50e9}
	jagged := []int64{5, 3, math.MaxInt64, math.MinInt64, 0, -1}
	cases := []struct {
		name    string
		kind    metrics.Kind
		samples []tv
	}{
		{"one float", metrics.Float, floats(regular, 42.5)},
		{"regular floats", metrics.Float, floats(regular, 12.34, 12.35, 12.35, 0, -7.25, 1e-300)},
		{"special floats", metrics.Float, floats(regular, math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), math.SmallestNonzeroFloat64, math.MaxFloat64)},
		{"times out of order and at the extremes", metrics.Float, floats(jagged, 1, 2, 3, 4, 5, 6)},
		{"ints", metrics.Int, []tv{
			{regular[0], metrics.Value{Kind: metrics.Int, I: 0}},
			{regular[1], metrics.Value{Kind: metrics.Int, I: math.MaxInt64}},
			{regular[2], metrics.Value{Kind: metrics.Int, I: math.MinInt64}},
			{regular[3], metrics.Value{Kind: metrics.Int, I: -1}},
			{regular[4], metrics.Value{Kind: metrics.Int, I: 1 << 40}},
		}},
		{"uints", metrics.Uint, []tv{
			{jagged[0], metrics.Value{Kind: metrics.Uint, U: math.MaxUint64}},
			{jagged[1], metrics.Value{Kind: metrics.Uint, U: 0}},
			{jagged[2], metrics.Value{Kind: metrics.Uint, U: 1 << 63}},
			{jagged[3], metrics.Value{Kind: metrics.Uint, U: 7}},
		}},
		{"bools", metrics.Bool, []tv{
			{regular[0], metrics.Value{Kind: metrics.Bool, B: true}},
			{regular[1], metrics.Value{Kind: metrics.Bool, B: false}},
			{regular[2], metrics.Value{Kind: metrics.Bool, B: true}},
		}},
		{"strings", metrics.String, []tv{
			{regular[0], metrics.Value{Kind: metrics.String, S: "ok"}},
			{regular[1], metrics.Value{Kind: metrics.String, S: ""}},
			{regular[2], metrics.Value{Kind: metrics.String, S: "ünïcode \x00 and a newline\n"}},
			{regular[3], metrics.Value{Kind: metrics.String, S: strings.Repeat("long ", 1000)}},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeChunk(encodeChunk(tc.kind, tc.samples))
			if err != nil {
				t.Fatalf("decoding: %v", err)
			}
			if d := cmp.Diff(tc.samples, got, bitsEqual); d != "" {
				t.Errorf("round trip (-want +got):\n%s", d)
			}
		})
	}
}

// TestChunkSize pins the compression the format exists for: a regular
// interval costs one byte of time, a repeated float one byte of value.
func TestChunkSize(t *testing.T) {
	cases := []struct {
		name string
		v    func(i int) metrics.Value
		want int // bytes for 240 samples
	}{
		// kind; first time (9) and 99.5 (control and 3 bytes); second
		// time, a delta (5), and an unchanged value (1); then 2 per sample.
		{"constant float", func(int) metrics.Value { return metrics.Value{Kind: metrics.Float, F: 99.5} }, 1 + 9 + 4 + 5 + 1 + 2*238},
		// kind; first time and 1000 (2); second time and +1; then 2 each.
		{"counter", func(i int) metrics.Value { return metrics.Value{Kind: metrics.Int, I: int64(1000 + i)} }, 1 + 9 + 2 + 5 + 1 + 2*238},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := newAppender(tc.v(0).Kind, 0)
			for i := range 240 {
				a.append(1_700_000_000_000_000_000+int64(i)*10e9, tc.v(i))
			}
			if len(a.b) != tc.want {
				t.Errorf("240 samples take %d bytes; want %d", len(a.b), tc.want)
			}
		})
	}
}

func TestChunkCorrupt(t *testing.T) {
	good := encodeChunk(metrics.String, []tv{{1, metrics.Value{Kind: metrics.String, S: "hello"}}})
	cases := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"unknown kind", []byte{9, 0, 0}},
		{"string longer than the chunk", good[:len(good)-1]},
		{"truncated varint", []byte{byte(metrics.Int), 0x80}},
		{"bool out of range", []byte{byte(metrics.Bool), 0, 2}},
		{"float control past the end", []byte{byte(metrics.Float), 0, 0x00, 1, 2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decodeChunk(tc.b); err == nil {
				t.Errorf("decoding %x: no error", tc.b)
			}
		})
	}
}

// FuzzChunk: arbitrary bytes never panic the decoder, and whatever decodes
// encodes and decodes again to the same samples.
func FuzzChunk(f *testing.F) {
	ts := []int64{0, 10, 20, 25, -5, 1 << 62}
	f.Add(encodeChunk(metrics.Float, floats(ts, 1, 1, 2.5, math.NaN(), -3, 1e100)))
	f.Add(encodeChunk(metrics.Int, []tv{{1, metrics.Value{Kind: metrics.Int, I: -5}}, {2, metrics.Value{Kind: metrics.Int, I: math.MaxInt64}}}))
	f.Add(encodeChunk(metrics.Uint, []tv{{1, metrics.Value{Kind: metrics.Uint, U: math.MaxUint64}}}))
	f.Add(encodeChunk(metrics.Bool, []tv{{1, metrics.Value{Kind: metrics.Bool, B: true}}}))
	f.Add(encodeChunk(metrics.String, []tv{{1, metrics.Value{Kind: metrics.String, S: "x"}}, {1, metrics.Value{Kind: metrics.String}}}))
	f.Add([]byte{})
	f.Add([]byte{1, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeChunk(b)
		if err != nil || len(got) == 0 {
			return
		}
		again, err := decodeChunk(encodeChunk(got[0].V.Kind, got))
		if err != nil {
			t.Fatalf("re-encoded chunk does not decode: %v", err)
		}
		if d := cmp.Diff(got, again, bitsEqual); d != "" {
			t.Fatalf("re-encoding changed the samples (-first +second):\n%s", d)
		}
	})
}
