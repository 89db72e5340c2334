package embedded

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigilmon/vigil/registry/internal/metrics"
)

// chunkView is a chunk a query reads: a head chunk's bytes as they were
// when seen (appends only ever go after them) or a stored chunk's.
type chunkView struct {
	seq  uint64
	data []byte
}

// snapshot returns s's head chunks that overlap [from, to).
func (s *series) snapshot(from, to int64, dst []chunkView) []chunkView {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.frozen {
		if c.maxT >= from && c.minT < to {
			dst = append(dst, chunkView{seq: c.seq, data: c.b})
		}
	}
	if c := s.head; c != nil && c.n > 0 && c.maxT >= from && c.minT < to {
		dst = append(dst, chunkView{seq: c.seq, data: c.b[:len(c.b):len(c.b)]})
	}
	return dst
}

// sample is one decoded numeric sample.
type sample struct {
	t int64
	v float64
}

// Query answers q from the head and SQLite.
func (st *Store) Query(ctx context.Context, q metrics.Query) ([]metrics.Series, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	st.life.RLock()
	defer st.life.RUnlock()
	if st.closed {
		return nil, errClosed
	}
	from, to := q.From.UnixNano(), q.To.UnixNano()
	matched := st.dict.match(q)
	if len(matched) == 0 {
		return nil, nil
	}
	// One measurement: ordering by tag set orders the answer.
	slices.SortFunc(matched, func(a, b *series) int { return compareTags(a.set.tags, b.set.tags) })
	// The head first, then SQLite: a chunk flushed in between is seen
	// twice (and read once, by its seq), never missed.
	heads := make([][]chunkView, len(matched))
	ids := make([]uint64, len(matched))
	for i, s := range matched {
		heads[i] = s.snapshot(from, to, nil)
		ids[i] = s.id
	}
	stored, err := st.db.chunks(ctx, ids, from, to)
	if err != nil {
		return nil, fmt.Errorf("querying %s.%s: %w", q.Measurement, q.Field, err)
	}
	var (
		out     []metrics.Series
		samples []sample
		views   []chunkView
	)
	for i, s := range matched {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("querying %s.%s: %w", q.Measurement, q.Field, err)
		}
		views = views[:0]
		for _, c := range stored[s.id] {
			views = append(views, chunkView(c))
		}
		views = append(views, heads[i]...)
		samples = st.decode(s, views, from, to, samples[:0])
		if len(samples) == 0 {
			continue
		}
		tags := make(map[string]string, len(s.set.tags))
		for _, t := range s.set.tags {
			tags[t.Key] = t.Value
		}
		out = append(out, metrics.Series{
			Measurement: s.set.measurement,
			Field:       s.field,
			Tags:        tags,
			Samples:     fold(samples, int64(q.Step), q.Agg),
		})
	}
	return out, nil
}

// decode reads the numeric samples in [from, to) of views (a series'
// chunks), in time order with one sample per time: the last written, as
// InfluxDB keeps the last write of a point.
func (st *Store) decode(s *series, views []chunkView, from, to int64, dst []sample) []sample {
	slices.SortFunc(views, func(a, b chunkView) int { return cmp.Compare(a.seq, b.seq) })
	views = slices.CompactFunc(views, func(a, b chunkView) bool { return a.seq == b.seq })
	for _, c := range views {
		it := newChunkIter(c.data)
		for it.Next() {
			t := it.Time()
			if t < from || t >= to {
				continue
			}
			v, ok := it.Number()
			if !ok {
				break // a chunk holds one kind
			}
			dst = append(dst, sample{t, v})
		}
		if err := it.Err(); err != nil {
			st.log.Warn("skipping the rest of a corrupt chunk", "series", s.id, "chunk", c.seq, "error", err)
		}
	}
	if !slices.IsSortedFunc(dst, func(a, b sample) int { return cmp.Compare(a.t, b.t) }) {
		slices.SortStableFunc(dst, func(a, b sample) int { return cmp.Compare(a.t, b.t) })
	}
	// Keep the last of equal times.
	w := 0
	for i := range dst {
		if i+1 < len(dst) && dst[i+1].t == dst[i].t {
			continue
		}
		dst[w] = dst[i]
		w++
	}
	return dst[:w]
}

// fold turns sorted samples into the answer: raw with step 0, else one
// sample per non-empty epoch-aligned bucket, at its start.
func fold(samples []sample, step int64, agg metrics.Agg) []metrics.Sample {
	if step == 0 {
		out := make([]metrics.Sample, len(samples))
		for i, s := range samples {
			out[i] = metrics.Sample{Time: time.Unix(0, s.t).UTC(), Value: s.v}
		}
		return out
	}
	var out []metrics.Sample
	for i := 0; i < len(samples); {
		start := floorDiv(samples[i].t, step) * step
		end := start + step
		j := i
		acc := samples[i].v
		sum := 0.0
		for ; j < len(samples) && samples[j].t < end; j++ {
			v := samples[j].v
			sum += v
			switch agg {
			case metrics.Max:
				acc = max(acc, v)
			case metrics.Min:
				acc = min(acc, v)
			case metrics.Last:
				acc = v
			}
		}
		if agg == metrics.Mean {
			acc = sum / float64(j-i)
		}
		out = append(out, metrics.Sample{Time: time.Unix(0, start).UTC(), Value: acc})
		i = j
	}
	return out
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// compareTags orders sorted tag sets pairwise: key, then value, then the
// shorter first.
func compareTags(a, b []metrics.Tag) int {
	for i := range min(len(a), len(b)) {
		if c := strings.Compare(a[i].Key, b[i].Key); c != 0 {
			return c
		}
		if c := strings.Compare(a[i].Value, b[i].Value); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}
