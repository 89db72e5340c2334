package sdk

import (
	"errors"
	"fmt"
	"time"

	"github.com/vigilmon/vigil/sdk/metric"
)

// DefaultBatchSize is the number of points per batch when the host does
// not ask for another.
const DefaultBatchSize = 10000

// Accumulator collects the points of one Gather call and sends them to the
// host in batches as they fill. It is not safe for concurrent use: a
// Gatherer that fans out must gather into its own goroutines' results and
// add them from one goroutine.
type Accumulator struct {
	b     metric.Builder
	limit int
	flush func(*metric.Batch) error
	now   time.Time
	errs  []error
	sent  int
}

// NewAccumulator returns an Accumulator that calls flush with each full
// batch (and with the last one from Flush). The batch is reused after
// flush returns. Hosts and tests use it; plugin authors receive one.
func NewAccumulator(batchSize int, now time.Time, flush func(*metric.Batch) error) *Accumulator {
	if batchSize <= 0 {
		batchSize = DefaultBatchSize
	}
	return &Accumulator{limit: batchSize, flush: flush, now: now}
}

// Time is the start of this gather; points added with a zero time get it.
func (a *Accumulator) Time() time.Time { return a.now }

// AddFields adds one point. Supported field types: float64, float32, int,
// int32, int64, uint, uint32, uint64, bool, string. Tags with empty values
// are left out; NaN and infinite floats are dropped and counted.
func (a *Accumulator) AddFields(measurement string, tags map[string]string, fields map[string]any, t time.Time) {
	if err := a.b.Add(measurement, tags, fields, a.ts(t)); err != nil {
		a.AddError(err)
		return
	}
	a.maybeFlush()
}

// AddError records a problem that did not stop the whole gather (one
// unreadable device, say). The gather is reported as failed with the joined
// errors, and the points added are still delivered.
func (a *Accumulator) AddError(err error) {
	if err != nil {
		a.errs = append(a.errs, err)
	}
}

// Series returns a handle for adding many points of one series whose fields
// are all floats: the fast path, with no map or interface per point.
func (a *Accumulator) Series(measurement string, tags map[string]string, fields ...string) *Series {
	s := &Series{acc: a, measurement: measurement, gen: -1}
	for k, v := range tags {
		s.tags = append(s.tags, metric.Tag{Key: k, Value: v})
	}
	for _, f := range fields {
		s.fields = append(s.fields, metric.Field{Key: f, Type: metric.Float})
	}
	return s
}

// Series is a float-only series bound to an Accumulator.
type Series struct {
	acc         *Accumulator
	measurement string
	tags        []metric.Tag
	fields      []metric.Field
	gen         int
	ref         metric.SeriesRef
	err         error
}

// Add adds a point with one value per field, in the order the fields were
// given to Accumulator.Series.
func (s *Series) Add(t time.Time, values ...float64) {
	a := s.acc
	if len(values) != len(s.fields) {
		a.AddError(fmt.Errorf("series %q: %d values for %d fields", s.measurement, len(values), len(s.fields)))
		return
	}
	if s.gen != a.b.Generation() {
		s.ref, s.err = a.b.Intern(s.measurement, s.tags, s.fields)
		s.gen = a.b.Generation()
		if s.err != nil {
			a.AddError(s.err)
		}
	}
	if s.err != nil {
		return
	}
	a.b.AddFloats(s.ref, a.ts(t), values...)
	a.maybeFlush()
}

func (a *Accumulator) ts(t time.Time) int64 {
	if t.IsZero() {
		t = a.now
	}
	return t.UnixNano()
}

func (a *Accumulator) maybeFlush() {
	if a.b.Batch.Len() >= a.limit {
		if err := a.Flush(); err != nil {
			a.AddError(err)
		}
	}
}

// Flush sends the points added since the last flush, if any.
func (a *Accumulator) Flush() error {
	if a.b.Batch.Len() == 0 {
		return nil
	}
	n := a.b.Batch.Len()
	err := a.flush(&a.b.Batch)
	a.b.Reset()
	if err != nil {
		return fmt.Errorf("sending batch: %w", err)
	}
	a.sent += n
	return nil
}

// Sent is the number of points flushed so far.
func (a *Accumulator) Sent() int { return a.sent }

// Dropped is the number of points or fields dropped because a float was NaN
// or infinite.
func (a *Accumulator) Dropped() int { return a.b.Dropped }

// Err joins the errors recorded with AddError.
func (a *Accumulator) Err() error { return errors.Join(a.errs...) }
