package metricstest_test

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vigilmon/vigil/registry/internal/metrics"
	"github.com/vigilmon/vigil/registry/internal/metrics/metricstest"
)

// TestRun runs the suite against the simplest store that can pass it, to
// check the suite's hand-worked expectations agree with one another; the
// real backends run it in their own packages.
func TestRun(t *testing.T) {
	metricstest.Run(t, func(t *testing.T) metrics.Store { return &memStore{} })
}

// memStore keeps every sample in a slice and scans it for each query.
type memStore struct {
	mu   sync.Mutex
	rows []row
}

type row struct {
	measurement, field string
	tags               map[string]string
	time               int64
	value              float64
}

func (m *memStore) Write(_ context.Context, points []metrics.Point) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range points {
		tags := map[string]string{}
		for _, tg := range p.Tags {
			tags[tg.Key] = tg.Value
		}
		for _, f := range p.Fields {
			if v, ok := f.Value.Number(); ok {
				m.rows = append(m.rows, row{p.Measurement, f.Key, tags, p.Time, v})
			}
		}
	}
	return nil
}

func (m *memStore) Flush(context.Context) error { return nil }
func (m *memStore) Close() error                { return nil }

func (m *memStore) Query(_ context.Context, q metrics.Query) ([]metrics.Series, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	bySeries := map[string][]row{}
	for _, r := range m.rows {
		if r.measurement != q.Measurement || r.field != q.Field ||
			r.time < q.From.UnixNano() || r.time >= q.To.UnixNano() ||
			(q.Node != "" && r.tags["node"] != q.Node) {
			continue
		}
		match := true
		for k, v := range q.Tags {
			if r.tags[k] != v {
				match = false
			}
		}
		if match {
			k := key(r.tags)
			bySeries[k] = append(bySeries[k], r)
		}
	}
	var out []metrics.Series
	for _, rows := range bySeries {
		slices.SortStableFunc(rows, func(a, b row) int { return cmp.Compare(a.time, b.time) })
		out = append(out, metrics.Series{Measurement: q.Measurement, Field: q.Field, Tags: rows[0].tags, Samples: fold(rows, q)})
	}
	slices.SortFunc(out, func(a, b metrics.Series) int { return compareTags(a.Tags, b.Tags) })
	return out, nil
}

func fold(rows []row, q metrics.Query) []metrics.Sample {
	if q.Step == 0 {
		var s []metrics.Sample
		for _, r := range rows {
			s = append(s, metrics.Sample{Time: time.Unix(0, r.time), Value: r.value})
		}
		return s
	}
	step := q.Step.Nanoseconds()
	var s []metrics.Sample
	var n int
	for i, r := range rows {
		start := r.time - ((r.time%step)+step)%step
		if i == 0 || s[len(s)-1].Time.UnixNano() != start {
			s = append(s, metrics.Sample{Time: time.Unix(0, start), Value: r.value})
			n = 1
			continue
		}
		last := &s[len(s)-1]
		n++
		switch q.Agg {
		case metrics.Mean:
			last.Value += (r.value - last.Value) / float64(n)
		case metrics.Max:
			last.Value = max(last.Value, r.value)
		case metrics.Min:
			last.Value = min(last.Value, r.value)
		case metrics.Last:
			last.Value = r.value
		}
	}
	return s
}

func key(tags map[string]string) string {
	var b []byte
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		b = append(b, k...)
		b = append(b, 0)
		b = append(b, tags[k]...)
		b = append(b, 0)
	}
	return string(b)
}

func compareTags(a, b map[string]string) int {
	ka, kb := slices.Sorted(maps.Keys(a)), slices.Sorted(maps.Keys(b))
	for i := range min(len(ka), len(kb)) {
		if c := cmp.Compare(ka[i], kb[i]); c != 0 {
			return c
		}
		if c := cmp.Compare(a[ka[i]], b[kb[i]]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(ka), len(kb))
}
