package metric

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// FieldType is the type of a field's values.
type FieldType uint8

// Field types, numbered as on the wire.
const (
	Float  FieldType = 1
	Int    FieldType = 2
	Uint   FieldType = 3
	Bool   FieldType = 4
	String FieldType = 5
)

func (t FieldType) String() string {
	switch t {
	case Float:
		return "float"
	case Int:
		return "int"
	case Uint:
		return "uint"
	case Bool:
		return "bool"
	case String:
		return "string"
	}
	return fmt.Sprintf("FieldType(%d)", t)
}

// Tag is a key/value pair.
type Tag struct{ Key, Value string }

// Field names a field and its type.
type Field struct {
	Key  string
	Type FieldType
}

// Series is a measurement with its tags (sorted by key, unique, non-empty
// values) and the ordered fields every point of the series carries.
type Series struct {
	Measurement string
	Tags        []Tag
	Fields      []Field
}

// Batch is a columnar batch of points. Point i belongs to
// Series[PointSeries[i]] at Times[i] (Unix nanoseconds); its values are
// taken in order from the column of each field's type.
type Batch struct {
	Series      []Series
	PointSeries []uint32
	Times       []int64
	Floats      []float64
	Ints        []int64
	Uints       []uint64
	Bools       []bool
	Strings     []string
}

// Len is the number of points.
func (b *Batch) Len() int { return len(b.PointSeries) }

// Validate checks that the batch is well formed: every index in range,
// every column exactly as long as the points need, names valid and tags
// sorted. A host calls it on everything a plugin sends.
func (b *Batch) Validate() error {
	if len(b.Times) != len(b.PointSeries) {
		return fmt.Errorf("batch has %d points but %d timestamps", len(b.PointSeries), len(b.Times))
	}
	for i, s := range b.Series {
		if err := s.validate(); err != nil {
			return fmt.Errorf("series %d: %w", i, err)
		}
	}
	var need [6]int
	for i, si := range b.PointSeries {
		if int(si) >= len(b.Series) {
			return fmt.Errorf("point %d refers to series %d of %d", i, si, len(b.Series))
		}
		for _, f := range b.Series[si].Fields {
			need[f.Type]++
		}
	}
	have := [6]int{0, len(b.Floats), len(b.Ints), len(b.Uints), len(b.Bools), len(b.Strings)}
	for t := Float; t <= String; t++ {
		if need[t] != have[t] {
			return fmt.Errorf("batch needs %d %s values but has %d", need[t], t, have[t])
		}
	}
	return nil
}

func (s *Series) validate() error {
	if err := ValidName(s.Measurement); err != nil {
		return fmt.Errorf("measurement: %w", err)
	}
	for i, t := range s.Tags {
		if err := ValidName(t.Key); err != nil {
			return fmt.Errorf("tag key: %w", err)
		}
		if t.Value == "" {
			return fmt.Errorf("tag %q has an empty value", t.Key)
		}
		if i > 0 && s.Tags[i-1].Key >= t.Key {
			return fmt.Errorf("tags are not sorted and unique at %q", t.Key)
		}
	}
	if len(s.Fields) == 0 {
		return fmt.Errorf("series %q has no fields", s.Measurement)
	}
	seen := make(map[string]bool, len(s.Fields))
	for _, f := range s.Fields {
		if err := ValidName(f.Key); err != nil {
			return fmt.Errorf("field key: %w", err)
		}
		if seen[f.Key] {
			return fmt.Errorf("field %q appears twice", f.Key)
		}
		seen[f.Key] = true
		if f.Type < Float || f.Type > String {
			return fmt.Errorf("field %q has unknown type %d", f.Key, f.Type)
		}
	}
	return nil
}

// ValidName reports whether s can be a measurement, tag key or field key:
// non-empty, valid UTF-8 without control characters, and not starting with
// '#' (line protocol would read the line as a comment).
func ValidName(s string) error {
	if s == "" {
		return fmt.Errorf("empty name")
	}
	if s[0] == '#' {
		return fmt.Errorf("name %q starts with '#'", s)
	}
	for _, r := range s {
		if r == 0xFFFD || r < 0x20 || r == 0x7f {
			return fmt.Errorf("name %q has an invalid character", s)
		}
	}
	return nil
}

// Point is one point, expanded; for tests and debugging, not hot paths.
type Point struct {
	Measurement string
	Tags        map[string]string
	Fields      map[string]any
	Time        time.Time
}

// Points expands the batch into points.
func (b *Batch) Points() []Point {
	var c [6]int
	out := make([]Point, 0, b.Len())
	for i, si := range b.PointSeries {
		s := b.Series[si]
		p := Point{Measurement: s.Measurement, Tags: map[string]string{}, Fields: map[string]any{}, Time: time.Unix(0, b.Times[i])}
		for _, t := range s.Tags {
			p.Tags[t.Key] = t.Value
		}
		for _, f := range s.Fields {
			switch f.Type {
			case Float:
				p.Fields[f.Key] = b.Floats[c[Float]]
			case Int:
				p.Fields[f.Key] = b.Ints[c[Int]]
			case Uint:
				p.Fields[f.Key] = b.Uints[c[Uint]]
			case Bool:
				p.Fields[f.Key] = b.Bools[c[Bool]]
			case String:
				p.Fields[f.Key] = b.Strings[c[String]]
			}
			c[f.Type]++
		}
		out = append(out, p)
	}
	return out
}

// Builder appends points to a Batch, interning series. The zero value is
// ready to use. Points whose float values are NaN or infinite lose those
// fields (line protocol cannot carry them); a point left with no field is
// dropped. Both are counted in Dropped.
type Builder struct {
	Batch   Batch
	Dropped int
	index   map[string]uint32
	key     []byte
	gen     int
}

// Reset empties the builder for reuse, keeping its allocations.
func (bu *Builder) Reset() {
	b := &bu.Batch
	b.Series = b.Series[:0]
	b.PointSeries = b.PointSeries[:0]
	b.Times = b.Times[:0]
	b.Floats = b.Floats[:0]
	b.Ints = b.Ints[:0]
	b.Uints = b.Uints[:0]
	b.Bools = b.Bools[:0]
	b.Strings = b.Strings[:0]
	clear(bu.index)
	bu.gen++
}

// Generation changes on every Reset; a SeriesRef is valid only within the
// generation it was made in.
func (bu *Builder) Generation() int { return bu.gen }

// SeriesRef is the index of an interned series in the current batch.
type SeriesRef uint32

// Intern returns the index of the series, adding it if new. tags need not
// be sorted; empty tag values are left out. It returns an error for an
// invalid measurement, tag key or field key.
func (bu *Builder) Intern(measurement string, tags []Tag, fields []Field) (SeriesRef, error) {
	if bu.index == nil {
		bu.index = make(map[string]uint32)
	}
	sorted := tagsSorted(tags)
	if !sorted {
		tags = append([]Tag(nil), tags...)
		sort.Slice(tags, func(i, j int) bool { return tags[i].Key < tags[j].Key })
	}
	k := bu.key[:0]
	k = append(k, measurement...)
	for _, t := range tags {
		if t.Value == "" {
			continue
		}
		k = append(k, 0)
		k = append(k, t.Key...)
		k = append(k, 1)
		k = append(k, t.Value...)
	}
	k = append(k, 2)
	for _, f := range fields {
		k = append(k, f.Key...)
		k = append(k, 3, byte(f.Type))
	}
	bu.key = k
	if i, ok := bu.index[string(k)]; ok {
		return SeriesRef(i), nil
	}
	s := Series{Measurement: measurement, Fields: append([]Field(nil), fields...)}
	for _, t := range tags {
		if t.Value != "" {
			s.Tags = append(s.Tags, t)
		}
	}
	if err := s.validate(); err != nil {
		return 0, err
	}
	i := uint32(len(bu.Batch.Series))
	bu.Batch.Series = append(bu.Batch.Series, s)
	bu.index[string(k)] = i
	return SeriesRef(i), nil
}

func tagsSorted(tags []Tag) bool {
	for i := 1; i < len(tags); i++ {
		if tags[i-1].Key >= tags[i].Key {
			return false
		}
	}
	return true
}

// AddFloats appends a point of a series whose fields are all floats, one
// value per field in order.
func (bu *Builder) AddFloats(ref SeriesRef, t int64, values ...float64) {
	s := &bu.Batch.Series[ref]
	for _, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			bu.addSlow(ref, s, t, values)
			return
		}
	}
	b := &bu.Batch
	b.PointSeries = append(b.PointSeries, uint32(ref))
	b.Times = append(b.Times, t)
	b.Floats = append(b.Floats, values...)
}

// addSlow re-interns a float point without its non-finite fields.
func (bu *Builder) addSlow(ref SeriesRef, s *Series, t int64, values []float64) {
	var fields []Field
	var vals []float64
	for i, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		fields = append(fields, s.Fields[i])
		vals = append(vals, v)
	}
	bu.Dropped++
	if len(fields) == 0 {
		return
	}
	r, err := bu.Intern(s.Measurement, s.Tags, fields)
	if err != nil {
		return
	}
	bu.AddFloats(r, t, vals...)
}

// Add appends a point with fields of any supported type: float64, float32,
// int, int32, int64, uint, uint32, uint64, bool, string. Fields are taken in
// key order.
func (bu *Builder) Add(measurement string, tags map[string]string, fields map[string]any, t int64) error {
	ts := make([]Tag, 0, len(tags))
	for k, v := range tags {
		ts = append(ts, Tag{k, v})
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Key < ts[j].Key })
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fs := make([]Field, 0, len(keys))
	type val struct {
		t FieldType
		f float64
		i int64
		u uint64
		b bool
		s string
	}
	vals := make([]val, 0, len(keys))
	for _, k := range keys {
		var v val
		switch x := fields[k].(type) {
		case float64:
			v = val{t: Float, f: x}
		case float32:
			v = val{t: Float, f: float64(x)}
		case int:
			v = val{t: Int, i: int64(x)}
		case int32:
			v = val{t: Int, i: int64(x)}
		case int64:
			v = val{t: Int, i: x}
		case uint:
			v = val{t: Uint, u: uint64(x)}
		case uint32:
			v = val{t: Uint, u: uint64(x)}
		case uint64:
			v = val{t: Uint, u: x}
		case bool:
			v = val{t: Bool, b: x}
		case string:
			v = val{t: String, s: x}
		default:
			return fmt.Errorf("field %q of %q: unsupported type %T", k, measurement, x)
		}
		if v.t == Float && (math.IsNaN(v.f) || math.IsInf(v.f, 0)) {
			bu.Dropped++
			continue
		}
		fs = append(fs, Field{k, v.t})
		vals = append(vals, v)
	}
	if len(fs) == 0 {
		bu.Dropped++
		return nil
	}
	ref, err := bu.Intern(measurement, ts, fs)
	if err != nil {
		return err
	}
	b := &bu.Batch
	b.PointSeries = append(b.PointSeries, uint32(ref))
	b.Times = append(b.Times, t)
	for _, v := range vals {
		switch v.t {
		case Float:
			b.Floats = append(b.Floats, v.f)
		case Int:
			b.Ints = append(b.Ints, v.i)
		case Uint:
			b.Uints = append(b.Uints, v.u)
		case Bool:
			b.Bools = append(b.Bools, v.b)
		case String:
			b.Strings = append(b.Strings, v.s)
		}
	}
	return nil
}

// String renders a series key for messages.
func (s *Series) String() string {
	var sb strings.Builder
	sb.WriteString(s.Measurement)
	for _, t := range s.Tags {
		fmt.Fprintf(&sb, ",%s=%s", t.Key, t.Value)
	}
	return sb.String()
}
