package lineproto

import (
	"errors"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/influxdata/line-protocol/v2/lineprotocol"
	"github.com/vigilmon/vigil/sdk/metric"
)

// This file holds what the tests compare against: a straightforward
// per-point encoder built on the library, a decoder, a model of which
// points survive, and a generator of escaping-heavy batches.

// point is a decoded (or expected) line.
type point struct {
	Measurement string
	Tags        map[string]string
	Fields      map[string]any
	Time        int64
}

// value is one field value of a point, read from the columns in order.
type value struct {
	key string
	v   any // float64, int64, uint64, bool, string
}

// walk calls fn for every point of b with its values in field order.
func walk(b *metric.Batch, fn func(s *metric.Series, t int64, vals []value)) {
	var c [6]int
	var vals []value
	for i, si := range b.PointSeries {
		s := &b.Series[si]
		vals = vals[:0]
		for _, f := range s.Fields {
			var v any
			switch f.Type {
			case metric.Float:
				v = b.Floats[c[f.Type]]
			case metric.Int:
				v = b.Ints[c[f.Type]]
			case metric.Uint:
				v = b.Uints[c[f.Type]]
			case metric.Bool:
				v = b.Bools[c[f.Type]]
			case metric.String:
				v = b.Strings[c[f.Type]]
			}
			c[f.Type]++
			vals = append(vals, value{f.Key, v})
		}
		fn(s, b.Times[i], vals)
	}
}

// mergedTags applies the tag rules with maps: defaults, then the point's
// own tags, then node and plugin.
func mergedTags(node string, agentTags map[string]string, plugin string, own []metric.Tag) map[string]string {
	m := map[string]string{}
	for k, v := range agentTags {
		if v != "" {
			m[k] = v
		}
	}
	for _, t := range own {
		if t.Value != "" {
			m[t.Key] = t.Value
		}
	}
	m["node"], m["plugin"] = node, plugin
	for k, v := range m {
		if v == "" {
			delete(m, k)
		}
	}
	return m
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func hasDuplicateField(s *metric.Series) bool {
	seen := map[string]bool{}
	for _, f := range s.Fields {
		if seen[f.Key] {
			return true
		}
		seen[f.Key] = true
	}
	return false
}

// referenceEncode encodes b one point at a time with the library encoder.
func referenceEncode(node string, agentTags map[string]string, plugin string, b *metric.Batch) []byte {
	var enc lineprotocol.Encoder
	walk(b, func(s *metric.Series, t int64, vals []value) {
		if strings.HasPrefix(s.Measurement, "#") || hasDuplicateField(s) || !fieldKeysEncode(s) {
			return
		}
		var keys []string
		var fields []lineprotocol.Value
		for _, fv := range vals {
			var v lineprotocol.Value
			ok := true
			switch x := fv.v.(type) {
			case float64:
				v, ok = lineprotocol.FloatValue(x)
			case int64:
				v = lineprotocol.IntValue(x)
			case uint64:
				v = lineprotocol.IntValue(int64(min(x, math.MaxInt64)))
			case bool:
				v = lineprotocol.BoolValue(x)
			case string:
				v, ok = lineprotocol.StringValue(x)
			}
			if ok {
				keys, fields = append(keys, fv.key), append(fields, v)
			}
		}
		if len(fields) == 0 {
			return // the library would refuse the line, and the next one too
		}
		enc.StartLine(s.Measurement)
		tags := mergedTags(node, agentTags, plugin, s.Tags)
		for _, k := range sortedKeys(tags) {
			enc.AddTag(k, tags[k])
		}
		for i, k := range keys {
			enc.AddField(k, fields[i])
		}
		enc.EndLine(time.Unix(0, t))
	})
	return enc.Bytes()
}

// fieldKeysEncode reports whether the library accepts every field key of
// s: a series with a bad field key is dropped even from points where that
// field has no value (NaN).
func fieldKeysEncode(s *metric.Series) bool {
	var enc lineprotocol.Encoder
	enc.StartLine("m")
	for _, f := range s.Fields {
		enc.AddField(f.Key, lineprotocol.IntValue(0))
	}
	return enc.Err() == nil
}

// encodableName is the library's rule for names and tag values.
func encodableName(s string) bool {
	return s != "" && utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) &&
		!strings.HasSuffix(s, `\`)
}

// expectedPoints models which points and fields survive encoding.
func expectedPoints(node string, agentTags map[string]string, plugin string, b *metric.Batch) []point {
	var out []point
	walk(b, func(s *metric.Series, t int64, vals []value) {
		if !encodableName(s.Measurement) || s.Measurement[0] == '#' || hasDuplicateField(s) {
			return
		}
		for _, f := range s.Fields {
			if !encodableName(f.Key) {
				return
			}
		}
		p := point{Measurement: s.Measurement, Tags: mergedTags(node, agentTags, plugin, s.Tags), Fields: map[string]any{}, Time: t}
		for k, v := range p.Tags {
			if !encodableName(k) || !encodableName(v) {
				return
			}
		}
		for _, fv := range vals {
			switch x := fv.v.(type) {
			case float64:
				if !math.IsNaN(x) && !math.IsInf(x, 0) {
					p.Fields[fv.key] = x
				}
			case uint64:
				p.Fields[fv.key] = int64(min(x, math.MaxInt64))
			case string:
				if utf8.ValidString(x) {
					p.Fields[fv.key] = x
				}
			default:
				p.Fields[fv.key] = x
			}
		}
		if len(p.Fields) > 0 {
			out = append(out, p)
		}
	})
	return out
}

// decodeAll decodes line protocol strictly: any error fails.
func decodeAll(buf []byte) ([]point, error) {
	var out []point
	dec := lineprotocol.NewDecoderWithBytes(buf)
	for dec.Next() {
		m, err := dec.Measurement()
		if err != nil {
			return nil, err
		}
		p := point{Measurement: string(m), Tags: map[string]string{}, Fields: map[string]any{}}
		for {
			k, v, err := dec.NextTag()
			if err != nil {
				return nil, err
			}
			if k == nil {
				break
			}
			p.Tags[string(k)] = string(v)
		}
		for {
			k, v, err := dec.NextField()
			if err != nil {
				return nil, err
			}
			if k == nil {
				break
			}
			if _, dup := p.Fields[string(k)]; dup {
				return nil, errors.New("duplicate field " + string(k))
			}
			p.Fields[string(k)] = v.Interface()
		}
		ts, err := dec.Time(lineprotocol.Nanosecond, time.Now())
		if err != nil {
			return nil, err
		}
		p.Time = ts.UnixNano()
		out = append(out, p)
	}
	return out, nil
}

// checkRoundTrip encodes b and checks that it decodes to the model's points
// and equals the reference encoder's bytes.
func checkRoundTrip(t *testing.T, node string, agentTags map[string]string, plugin string, b *metric.Batch) {
	t.Helper()
	got, st, _ := NewEncoder(node, agentTags).Append(nil, plugin, b)
	want := expectedPoints(node, agentTags, plugin, b)
	decoded, err := decodeAll(got)
	if err != nil {
		t.Fatalf("decoding %q: %v", got, err)
	}
	if diff := cmp.Diff(want, decoded); diff != "" {
		t.Fatalf("decoded points (-want +got):\n%s\nencoded:\n%s", diff, got)
	}
	if st.Points != len(want) || st.Points+st.Dropped != b.Len() {
		t.Fatalf("stats %+v for %d points, %d expected", st, b.Len(), len(want))
	}
	if ref := referenceEncode(node, agentTags, plugin, b); string(ref) != string(got) {
		t.Fatalf("differs from the reference encoder:\ngot:\n%s\nreference:\n%s", got, ref)
	}
}

// nastyNames are names that need escaping or must be refused.
var nastyNames = []string{
	"cpu", "a b", "a,b", "a=b", `a"b`, `a\b`, `a\ b`, `\,`, "ünïcödé", "日本語", " lead", "trail ",
	"=", ",", `"`, "node", "plugin", "site", "host", "z", "#hash", `trailing\`, "ctl\x01", "new\nline",
	"", "\xff\xfe", "tab\tx", "\u00a0", "a=b,c d\"e\\f",
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// randomBatch builds a structurally valid batch whose names, tags and
// values come from nastyNames and random values, NaN and extremes included.
func randomBatch(r *rand.Rand) *metric.Batch {
	b := &metric.Batch{}
	for range 1 + r.IntN(5) {
		s := metric.Series{Measurement: pick(r, nastyNames)}
		tags := map[string]string{}
		for range r.IntN(4) {
			tags[pick(r, nastyNames)] = pick(r, nastyNames)
		}
		for _, k := range sortedKeys(tags) {
			s.Tags = append(s.Tags, metric.Tag{Key: k, Value: tags[k]})
		}
		seen := map[string]bool{}
		for range 1 + r.IntN(4) {
			k := pick(r, nastyNames)
			if !seen[k] {
				seen[k] = true
				s.Fields = append(s.Fields, metric.Field{Key: k, Type: metric.FieldType(1 + r.IntN(5))})
			}
		}
		b.Series = append(b.Series, s)
	}
	floats := []float64{0, -0.0, 1.5, -2, 1e21, 1e-300, math.MaxFloat64, math.SmallestNonzeroFloat64, math.NaN(), math.Inf(1), math.Inf(-1), 3}
	for range r.IntN(30) {
		si := r.IntN(len(b.Series))
		b.PointSeries = append(b.PointSeries, uint32(si))
		b.Times = append(b.Times, pick(r, []int64{0, 1, -1, math.MaxInt64, math.MinInt64, r.Int64()}))
		for _, f := range b.Series[si].Fields {
			switch f.Type {
			case metric.Float:
				b.Floats = append(b.Floats, pick(r, append(floats, r.NormFloat64()*1e6)))
			case metric.Int:
				b.Ints = append(b.Ints, pick(r, []int64{0, -1, math.MinInt64, math.MaxInt64, r.Int64()}))
			case metric.Uint:
				b.Uints = append(b.Uints, pick(r, []uint64{0, math.MaxInt64, math.MaxInt64 + 1, math.MaxUint64, r.Uint64()}))
			case metric.Bool:
				b.Bools = append(b.Bools, r.IntN(2) == 0)
			case metric.String:
				b.Strings = append(b.Strings, pick(r, nastyNames))
			}
		}
	}
	return b
}

// lineprotocolEncoder is the benchmark baseline: a per-point library
// encoder over pre-merged tags, with no per-point map or sort.
type lineprotocolEncoder struct{ enc lineprotocol.Encoder }

func (e *lineprotocolEncoder) encode(b *metric.Batch, tags [][]metric.Tag) {
	e.enc.Reset()
	fi := 0
	for i, si := range b.PointSeries {
		s := &b.Series[si]
		e.enc.StartLine(s.Measurement)
		for _, t := range tags[si] {
			e.enc.AddTag(t.Key, t.Value)
		}
		for _, f := range s.Fields {
			v, ok := lineprotocol.FloatValue(b.Floats[fi])
			fi++
			if ok {
				e.enc.AddField(f.Key, v)
			}
		}
		e.enc.EndLine(time.Unix(0, b.Times[i]))
	}
}
