package metrics

import (
	"context"
	"errors"
	"time"
)

// Kind is the type of a field value, as line protocol has them.
type Kind uint8

// The field kinds.
const (
	Float Kind = iota + 1
	Int
	Uint
	Bool
	String
)

// Value is one field value; the member named by Kind is set.
type Value struct {
	Kind Kind
	F    float64
	I    int64
	U    uint64
	B    bool
	S    string
}

// Number returns the value as a float64 and true for Float, Int and Uint;
// false for Bool and String, which queries do not aggregate.
func (v Value) Number() (float64, bool) {
	switch v.Kind {
	case Float:
		return v.F, true
	case Int:
		return float64(v.I), true
	case Uint:
		return float64(v.U), true
	}
	return 0, false
}

// Tag is one tag of a point.
type Tag struct{ Key, Value string }

// Field is one field of a point.
type Field struct {
	Key   string
	Value Value
}

// Point is one decoded line of line protocol. Tags are sorted by key with
// no duplicates and no empty values; Fields has at least one entry with
// unique keys; Time is Unix nanoseconds.
type Point struct {
	Measurement string
	Tags        []Tag
	Fields      []Field
	Time        int64
}

// Agg is how a query folds the samples of one bucket.
type Agg string

// The aggregations.
const (
	Mean Agg = "mean"
	Max  Agg = "max"
	Min  Agg = "min"
	Last Agg = "last" // the sample with the latest time in the bucket
)

// Query selects one field of one measurement, optionally narrowed to a
// node and exact tag values, over [From, To).
//
// With Step > 0 samples are folded by Agg into buckets aligned to the Unix
// epoch (a bucket starts at a multiple of Step, as InfluxDB's GROUP BY
// time does), each reported at its start; buckets with no sample are left
// out. With Step == 0 the raw samples are returned and Agg is ignored. Only
// numeric fields (Float, Int, Uint) are answered; a field holding strings
// or booleans yields no samples.
type Query struct {
	Node        string            // "" for every node
	Measurement string            // required
	Field       string            // required
	Tags        map[string]string // exact matches; may include "node"
	From, To    time.Time         // required, From < To
	Step        time.Duration
	Agg         Agg // required when Step > 0
}

// Sample is one point of a query's answer.
type Sample struct {
	Time  time.Time
	Value float64
}

// Series is the answer for one distinct tag set (every tag of the stored
// points, node included), its samples in ascending time.
type Series struct {
	Measurement string
	Field       string
	Tags        map[string]string
	Samples     []Sample
}

// ErrInvalidQuery is returned (wrapped) for a query missing what it needs
// or with From >= To, a negative Step or an unknown Agg.
var ErrInvalidQuery = errors.New("invalid query")

// Validate checks q as every backend does before answering it.
func (q Query) Validate() error {
	switch {
	case q.Measurement == "":
		return errors.Join(ErrInvalidQuery, errors.New("measurement is required"))
	case q.Field == "":
		return errors.Join(ErrInvalidQuery, errors.New("field is required"))
	case q.From.IsZero() || q.To.IsZero():
		return errors.Join(ErrInvalidQuery, errors.New("from and to are required"))
	case !q.From.Before(q.To):
		return errors.Join(ErrInvalidQuery, errors.New("from must be before to"))
	case q.Step < 0:
		return errors.Join(ErrInvalidQuery, errors.New("step must not be negative"))
	}
	if q.Step > 0 {
		switch q.Agg {
		case Mean, Max, Min, Last:
		default:
			return errors.Join(ErrInvalidQuery, errors.New("agg must be mean, max, min or last"))
		}
	}
	return nil
}

// Store is a metrics backend.
type Store interface {
	// Write stores points. When it returns nil the points are durable:
	// they survive a crash of the registry (a backend that forwards them
	// elsewhere has them in its own fsynced queue). points and everything
	// they reference are only valid during the call.
	Write(ctx context.Context, points []Point) error
	// Flush waits until every point written before the call is
	// queryable (a forwarding backend has delivered it), or ctx ends.
	Flush(ctx context.Context) error
	// Query answers q, series sorted by measurement then tag set.
	Query(ctx context.Context, q Query) ([]Series, error)
	// Close flushes and releases everything; no call may follow.
	Close() error
}

// LineWriter is an optional capability of a Store that keeps points as
// line protocol (the InfluxDB backend). Ingest decodes every request
// anyway; when a request's body already holds its points exactly as such
// a store would write them, WriteLines hands it over as is and spares the
// store encoding the points again, which on the forwarding path costs as
// much as decoding them.
//
// lines holds one line per point of points, in the same order, each ending
// in '\n', in the plainest form of line protocol: no escapes, no comments
// or blank lines, single separators, tags sorted by key, nanosecond
// timestamps, no unsigned integers, floats as -?digits[.digits][e±digits]
// and strings without newlines. points is what they decode to. The
// durability contract is Write's.
type LineWriter interface {
	WriteLines(ctx context.Context, points []Point, lines []byte) error
}
