package influx

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilmon/vigil/registry/internal/metrics"
)

// influxQL translates a valid q into one InfluxQL statement:
//
//	SELECT mean("f"::float) FROM "m" WHERE time >= 1ns AND time < 2ns
//	  AND "node"::tag = 'web-1' AND "k"::tag = 'v' GROUP BY time(10000000000ns), * fill(none)
//
// or, raw, SELECT "f"::float ... GROUP BY *. The ::float cast makes ints
// floats and leaves strings and booleans out, as the contract wants;
// ::tag keeps a tag filter from matching a field of the same name.
func influxQL(q metrics.Query) string {
	var b strings.Builder
	b.WriteString("SELECT ")
	field := quoteIdent(q.Field) + "::float"
	if q.Step > 0 {
		b.WriteString(string(q.Agg))
		b.WriteString("(" + field + ")")
	} else {
		b.WriteString(field)
	}
	b.WriteString(" FROM " + quoteIdent(q.Measurement))
	fmt.Fprintf(&b, " WHERE time >= %d AND time < %d", clampNano(q.From), clampNano(q.To))
	if q.Node != "" {
		b.WriteString(` AND "node"::tag = ` + quoteString(q.Node))
	}
	for _, k := range slices.Sorted(maps.Keys(q.Tags)) {
		b.WriteString(" AND " + quoteIdent(k) + "::tag = " + quoteString(q.Tags[k]))
	}
	if q.Step > 0 {
		fmt.Fprintf(&b, " GROUP BY time(%dns), * fill(none)", q.Step.Nanoseconds())
	} else {
		b.WriteString(" GROUP BY *")
	}
	return b.String()
}

// clampNano is t in Unix nanoseconds, held to the range an int64 covers.
func clampNano(t time.Time) int64 {
	switch {
	case t.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// quoteIdent quotes an InfluxQL identifier.
func quoteIdent(s string) string { return quote(s, '"') }

// quoteString quotes an InfluxQL string literal.
func quoteString(s string) string { return quote(s, '\'') }

func quote(s string, q byte) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte(q)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case q, '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// response is one JSON object of InfluxDB's /query answer; with
// chunked=true the answer is a stream of them.
type response struct {
	Results []struct {
		Series []struct {
			Name    string               `json:"name"`
			Tags    map[string]string    `json:"tags"`
			Columns []string             `json:"columns"`
			Values  [][2]json.RawMessage `json:"values"`
		} `json:"series"`
		Error string `json:"error"`
	} `json:"results"`
	Error string `json:"error"`
}

// readSeries decodes a (chunked) /query answer to one SELECT of one field
// into series for q: tags with empty values (GROUP BY * gives every tag
// key of the measurement) left out, null values skipped, samples in the
// order InfluxDB gives them (ascending time), series sorted by tag set.
func readSeries(r io.Reader, q metrics.Query) ([]metrics.Series, error) {
	dec := json.NewDecoder(r)
	var out []metrics.Series
	index := map[string]int{} // series key → position in out (chunks split a series)
	for {
		var resp response
		if err := dec.Decode(&resp); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("decoding InfluxDB's answer: %w", err)
		}
		if resp.Error != "" {
			return nil, fmt.Errorf("InfluxDB: %s", resp.Error)
		}
		for _, res := range resp.Results {
			if res.Error != "" {
				return nil, fmt.Errorf("InfluxDB: %s", res.Error)
			}
			for _, s := range res.Series {
				if len(s.Columns) != 2 || s.Columns[0] != "time" {
					return nil, fmt.Errorf("decoding InfluxDB's answer: columns %q, want time and one value", s.Columns)
				}
				tags := make(map[string]string, len(s.Tags))
				for k, v := range s.Tags {
					if v != "" {
						tags[k] = v
					}
				}
				key := seriesKey(s.Name, tags)
				i, ok := index[key]
				if !ok {
					i = len(out)
					index[key] = i
					out = append(out, metrics.Series{Measurement: s.Name, Field: q.Field, Tags: tags})
				}
				for _, row := range s.Values {
					smp, ok, err := sample(row)
					if err != nil {
						return nil, err
					}
					if ok {
						out[i].Samples = append(out[i].Samples, smp)
					}
				}
			}
		}
	}
	out = slices.DeleteFunc(out, func(s metrics.Series) bool { return len(s.Samples) == 0 })
	slices.SortFunc(out, func(a, b metrics.Series) int {
		return cmp.Or(strings.Compare(a.Measurement, b.Measurement), compareTags(a.Tags, b.Tags))
	})
	return out, nil
}

// sample decodes one [time, value] row; a null value is no sample.
func sample(row [2]json.RawMessage) (metrics.Sample, bool, error) {
	if string(row[1]) == "null" || len(row[1]) == 0 {
		return metrics.Sample{}, false, nil
	}
	ns, err := strconv.ParseInt(string(row[0]), 10, 64)
	if err != nil {
		return metrics.Sample{}, false, fmt.Errorf("decoding InfluxDB's answer: time %s: %w", row[0], err)
	}
	v, err := strconv.ParseFloat(string(row[1]), 64)
	if err != nil {
		return metrics.Sample{}, false, fmt.Errorf("decoding InfluxDB's answer: value %s: %w", row[1], err)
	}
	return metrics.Sample{Time: time.Unix(0, ns).UTC(), Value: v}, true, nil
}

// seriesKey identifies a series of the answer across chunks.
func seriesKey(name string, tags map[string]string) string {
	var b strings.Builder
	b.WriteString(name)
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		b.WriteByte(0)
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(tags[k])
	}
	return b.String()
}

// compareTags orders tag sets as the metrics contract does: the (key,
// value) pairs in key order, pair by pair, key first then value, a prefix
// first.
func compareTags(a, b map[string]string) int {
	ka, kb := slices.Sorted(maps.Keys(a)), slices.Sorted(maps.Keys(b))
	for i := range min(len(ka), len(kb)) {
		if c := strings.Compare(ka[i], kb[i]); c != 0 {
			return c
		}
		if c := strings.Compare(a[ka[i]], b[kb[i]]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(ka), len(kb))
}
