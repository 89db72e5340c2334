// Package metric holds the columnar batch of points that crosses the
// plugin boundary: a small dictionary of series (measurement, sorted tags,
// ordered field list) and one column per value type. Plugins fill it
// through sdk.Accumulator, the host validates it after decoding, and the
// agent encodes it into line protocol without building a value per point.
package metric
