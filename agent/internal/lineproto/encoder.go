package lineproto

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"time"
	"unsafe"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
	"github.com/vigilmon/vigil/sdk/metric"
)

// Stats counts what one Append did.
type Stats struct {
	// Points is the number of lines written.
	Points int
	// Dropped is the number of points not written: their series could not
	// be encoded, or every one of their fields was dropped.
	Dropped int
	// DroppedFields is the number of field values left out: NaN or
	// infinite floats, strings that are not valid UTF-8.
	DroppedFields int
}

// Encoder encodes batches into line protocol. It keeps per-batch scratch
// space, so it is not safe for concurrent use; use one per goroutine.
type Encoder struct {
	overrides []metric.Tag // node and plugin, sorted; empty value = remove
	defaults  []metric.Tag // agent tags, sorted, without override keys

	lp     lineprotocol.Encoder
	arena  []byte      // series keys and field key prefixes of the current batch
	series []seriesEnc // per series of the current batch
	fields []fieldEnc  // field prefixes, indexed by seriesEnc.fields
	merged []metric.Tag
}

// seriesEnc is a series of the current batch, encoded.
type seriesEnc struct {
	key    span // "measurement,tag=v,..." escaped
	fields [2]int32
	counts [6]int32 // values per point in each column, by metric.FieldType
	ok     bool
	err    error // why the series cannot be encoded, when !ok
}

// fieldEnc is one field of a series: its escaped "key=" and type.
type fieldEnc struct {
	prefix span
	typ    metric.FieldType
}

type span struct{ from, to int32 }

// NewEncoder returns an Encoder that sets the node tag on every point and
// adds agentTags to points that lack those keys. Empty tag values are left
// out; an empty node removes the node tag instead of setting it.
func NewEncoder(node string, agentTags map[string]string) *Encoder {
	e := &Encoder{overrides: []metric.Tag{{Key: "node", Value: node}, {Key: "plugin"}}}
	for k, v := range agentTags {
		if v == "" || k == "node" || k == "plugin" {
			continue
		}
		e.defaults = append(e.defaults, metric.Tag{Key: k, Value: v})
	}
	sort.Slice(e.defaults, func(i, j int) bool { return e.defaults[i].Key < e.defaults[j].Key })
	return e
}

// Append appends the line protocol of every point of b, tagged as coming
// from plugin, to dst and returns the extended buffer.
//
// If b is malformed (a column shorter or longer than its points need, a
// point of an unknown series), Append returns dst unchanged, zero Stats and
// an error. Otherwise it writes every point it can; when some points or
// fields had to be left out (see Stats) it also returns an error naming the
// first reason, and the returned buffer still holds the good points.
func (e *Encoder) Append(dst []byte, plugin string, b *metric.Batch) ([]byte, Stats, error) {
	if len(b.Times) != len(b.PointSeries) {
		return dst, Stats{}, fmt.Errorf("malformed batch: %d points but %d timestamps", len(b.PointSeries), len(b.Times))
	}
	if err := e.prepare(plugin, b.Series); err != nil {
		return dst, Stats{}, fmt.Errorf("malformed batch: %w", err)
	}
	start := len(dst)
	var st Stats
	var dropErr error
	var col [6]int // next value of each column
	have := [6]int{0, len(b.Floats), len(b.Ints), len(b.Uints), len(b.Bools), len(b.Strings)}
	arena := e.arena
	for i, si := range b.PointSeries {
		if int(si) >= len(e.series) {
			return dst[:start], Stats{}, fmt.Errorf("malformed batch: point %d refers to series %d of %d", i, si, len(e.series))
		}
		s := &e.series[si]
		for t := metric.Float; t <= metric.String; t++ {
			if col[t]+int(s.counts[t]) > have[t] {
				return dst[:start], Stats{}, fmt.Errorf("malformed batch: point %d needs more %s values than the batch has", i, t)
			}
		}
		if !s.ok {
			for t := metric.Float; t <= metric.String; t++ {
				col[t] += int(s.counts[t])
			}
			st.Dropped++
			if dropErr == nil {
				dropErr = fmt.Errorf("dropping points of series %q: %w", b.Series[si].String(), s.err)
			}
			continue
		}
		lineStart := len(dst)
		dst = append(dst, arena[s.key.from:s.key.to]...)
		sep := byte(' ')
		for _, f := range e.fields[s.fields[0]:s.fields[1]] {
			prefix := arena[f.prefix.from:f.prefix.to]
			switch f.typ {
			case metric.Float:
				v := b.Floats[col[metric.Float]]
				col[metric.Float]++
				if math.IsNaN(v) || math.IsInf(v, 0) {
					st.DroppedFields++
					if dropErr == nil {
						dropErr = fmt.Errorf("dropping field %q of series %q: value %v cannot be written", prefix[:len(prefix)-1], b.Series[si].String(), v)
					}
					continue
				}
				dst = append(append(dst, sep), prefix...)
				dst = strconv.AppendFloat(dst, v, 'g', -1, 64)
			case metric.Int:
				dst = append(append(dst, sep), prefix...)
				dst = strconv.AppendInt(dst, b.Ints[col[metric.Int]], 10)
				dst = append(dst, 'i')
				col[metric.Int]++
			case metric.Uint:
				// InfluxDB 1.x rejects the 'u' suffix: write an int.
				dst = append(append(dst, sep), prefix...)
				dst = strconv.AppendInt(dst, clampUint(b.Uints[col[metric.Uint]]), 10)
				dst = append(dst, 'i')
				col[metric.Uint]++
			case metric.Bool:
				dst = append(append(dst, sep), prefix...)
				dst = strconv.AppendBool(dst, b.Bools[col[metric.Bool]])
				col[metric.Bool]++
			case metric.String:
				str := b.Strings[col[metric.String]]
				col[metric.String]++
				v, err := lineprotocol.NewValueFromBytes(lineprotocol.String, unsafe.Slice(unsafe.StringData(str), len(str)))
				if err != nil {
					st.DroppedFields++
					if dropErr == nil {
						dropErr = fmt.Errorf("dropping field %q of series %q: %w", prefix[:len(prefix)-1], b.Series[si].String(), err)
					}
					continue
				}
				dst = append(append(dst, sep), prefix...)
				// The library's escaper reallocates to the exact size when
				// short of room; grow ahead so appends stay amortized.
				dst = slices.Grow(dst, 2*len(str)+2)
				dst = v.AppendBytes(dst)
			}
			sep = ','
		}
		if sep == ' ' {
			dst = dst[:lineStart] // no field left
			st.Dropped++
			continue
		}
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, b.Times[i], 10)
		dst = append(dst, '\n')
		st.Points++
	}
	for t := metric.Float; t <= metric.String; t++ {
		if col[t] != have[t] {
			return dst[:start], Stats{}, fmt.Errorf("malformed batch: points use %d %s values but the batch has %d", col[t], t, have[t])
		}
	}
	return dst, st, dropErr
}

func clampUint(u uint64) int64 {
	if u > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(u)
}

// prepare encodes the key and field prefixes of every series of the batch
// into e.arena. A series the library refuses is marked !ok; only a field of
// unknown type (whose column cannot be known) is an error.
func (e *Encoder) prepare(plugin string, series []metric.Series) error {
	e.overrides[1].Value = plugin
	e.arena = e.arena[:0]
	e.fields = e.fields[:0]
	e.series = slices.Grow(e.series[:0], len(series))[:len(series)]
	for i := range series {
		s := &series[i]
		se := &e.series[i]
		*se = seriesEnc{}
		for _, f := range s.Fields {
			if f.Type < metric.Float || f.Type > metric.String {
				return fmt.Errorf("series %q: field %q has unknown type %d", s.String(), f.Key, f.Type)
			}
			se.counts[f.Type]++
		}
		se.err = e.encodeSeries(se, s)
		se.ok = se.err == nil
	}
	return nil
}

// encodeSeries writes the series key and field prefixes with the library
// encoder, which validates and escapes them.
func (e *Encoder) encodeSeries(se *seriesEnc, s *metric.Series) error {
	if len(s.Measurement) > 0 && s.Measurement[0] == '#' {
		// It would encode, but decode as a comment: the point would vanish.
		return errors.New("measurement starts with '#'")
	}
	if len(s.Fields) == 0 {
		return errors.New("series has no fields")
	}
	for i := range s.Fields {
		for j := range i {
			if s.Fields[i].Key == s.Fields[j].Key {
				return fmt.Errorf("field %q appears twice", s.Fields[i].Key)
			}
		}
	}
	lp := &e.lp
	lp.SetBuffer(e.arena)
	lp.StartLine(s.Measurement)
	from := len(e.arena) // SetBuffer starts a fresh line: no newline first
	for _, t := range e.mergeTags(s.Tags) {
		lp.AddTag(t.Key, t.Value)
	}
	se.key = span{int32(from), int32(len(lp.Bytes()))}
	se.fields[0] = int32(len(e.fields))
	for _, f := range s.Fields {
		before := len(lp.Bytes())
		lp.AddField(f.Key, placeholder)
		// " key=0i" or ",key=0i": keep "key=".
		e.fields = append(e.fields, fieldEnc{prefix: span{int32(before + 1), int32(len(lp.Bytes()) - len(placeholderText))}, typ: f.Type})
	}
	se.fields[1] = int32(len(e.fields))
	lp.EndLine(time.Time{})
	if err := lp.Err(); err != nil {
		e.fields = e.fields[:se.fields[0]]
		return err
	}
	e.arena = lp.Bytes()
	return nil
}

var placeholder = lineprotocol.IntValue(0)

const placeholderText = "0i"

// mergeTags merges the series' own tags with the agent's: overrides win,
// then the series' tags, then the defaults. All three lists are sorted, so
// the result is too (if the series' tags were not, the library refuses the
// series). Empty values are left out.
func (e *Encoder) mergeTags(own []metric.Tag) []metric.Tag {
	out := e.merged[:0]
	o, s, d := e.overrides, own, e.defaults
	for {
		for len(s) > 0 && s[0].Value == "" {
			s = s[1:] // an empty value is no tag: a default may apply
		}
		if len(o)+len(s)+len(d) == 0 {
			break
		}
		k := ""
		first := true
		for _, l := range [...][]metric.Tag{o, s, d} {
			if len(l) > 0 && (first || l[0].Key < k) {
				k, first = l[0].Key, false
			}
		}
		var t metric.Tag
		switch {
		case len(o) > 0 && o[0].Key == k:
			t = o[0]
		case len(s) > 0 && s[0].Key == k:
			t = s[0]
		default:
			t = d[0]
		}
		if t.Value != "" {
			out = append(out, t)
		}
		if len(o) > 0 && o[0].Key == k {
			o = o[1:]
		}
		if len(s) > 0 && s[0].Key == k {
			s = s[1:]
		}
		if len(d) > 0 && d[0].Key == k {
			d = d[1:]
		}
	}
	e.merged = out
	return out
}
