// Package metricstest is the conformance suite every metrics.Store backend
// runs (metrics/embedded, metrics/influx), so that a query answers the same
// whichever backend the registry is configured with. Run writes points of
// every value kind across several measurements, nodes and tag sets, flushes,
// and compares the answers of raw and aggregated queries with expectations
// worked out by hand in the suite, not by a second implementation.
//
// What the suite pins down beyond metrics.go's comments:
//   - a series with no sample in [From, To) is left out of the answer;
//   - a bucket is reported at its epoch-aligned start, even when that start
//     is before From (the first bucket of an unaligned From);
//   - series are sorted by tag set: the tags as (key, value) pairs in key
//     order, compared pair by pair, key first then value, a tag set that is
//     a prefix of another sorting first ({a=x} < {a=x,b=y} < {a=x-1} <
//     {a-b=z} < {b=1} < {node=n1});
//   - an empty answer may be nil or empty;
//   - floats are compared with a relative tolerance of 1e-9 (InfluxDB
//     computes a mean of integers with its own rounding).
//
// Uints above math.MaxInt64 are not written: InfluxDB 1.x stores uints as
// ints, and the influx backend drops such values.
//
// It is not a benchmark and not a test of durability across restarts,
// which depends on the backend (each backend tests its own).
package metricstest
