package metricstest

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vigilmon/vigil/registry/internal/metrics"
)

// Run runs the suite. open returns a new, empty store of its own for each
// call (its own directory, its own database) and closes it when the test
// it is given ends (t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) metrics.Store) {
	t.Run("Queries", func(t *testing.T) { testQueries(t, open(t)) })
	t.Run("ValueKinds", func(t *testing.T) { testValueKinds(t, open(t)) })
	t.Run("Escaping", func(t *testing.T) { testEscaping(t, open(t)) })
	t.Run("Sorting", func(t *testing.T) { testSorting(t, open(t)) })
	t.Run("InvalidQueries", func(t *testing.T) { testInvalid(t, open(t)) })
	t.Run("WriteAfterQuery", func(t *testing.T) { testWriteAfterQuery(t, open(t)) })
	t.Run("LargeBatch", func(t *testing.T) { testLargeBatch(t, open(t)) })
}

// base is the time every point is written relative to: a whole hour an
// hour ago, so that it is aligned to every step the suite uses and well
// inside any retention period.
var base = time.Unix(time.Now().Unix()/3600*3600-3600, 0).UTC()

func at(d time.Duration) time.Time { return base.Add(d) }

func tags(kv ...string) []metrics.Tag {
	var ts []metrics.Tag
	for i := 0; i < len(kv); i += 2 {
		ts = append(ts, metrics.Tag{Key: kv[i], Value: kv[i+1]})
	}
	return ts
}

func tagMap(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func float(k string, v float64) metrics.Field {
	return metrics.Field{Key: k, Value: metrics.Value{Kind: metrics.Float, F: v}}
}

func integer(k string, v int64) metrics.Field {
	return metrics.Field{Key: k, Value: metrics.Value{Kind: metrics.Int, I: v}}
}

func unsigned(k string, v uint64) metrics.Field {
	return metrics.Field{Key: k, Value: metrics.Value{Kind: metrics.Uint, U: v}}
}

func boolean(k string, v bool) metrics.Field {
	return metrics.Field{Key: k, Value: metrics.Value{Kind: metrics.Bool, B: v}}
}

func str(k, v string) metrics.Field {
	return metrics.Field{Key: k, Value: metrics.Value{Kind: metrics.String, S: v}}
}

func point(m string, ts []metrics.Tag, d time.Duration, fs ...metrics.Field) metrics.Point {
	return metrics.Point{Measurement: m, Tags: ts, Fields: fs, Time: at(d).UnixNano()}
}

// samples builds samples from (offset, value) pairs: an offset is a
// time.Duration (or the untyped 0), a value an int or a float64.
func samples(pairs ...any) []metrics.Sample {
	var s []metrics.Sample
	for i := 0; i < len(pairs); i += 2 {
		var off time.Duration
		switch o := pairs[i].(type) {
		case time.Duration:
			off = o
		case int:
			off = time.Duration(o)
		default:
			panic(fmt.Sprintf("metricstest: sample offset %T", o))
		}
		s = append(s, metrics.Sample{Time: at(off), Value: toFloat(pairs[i+1])})
	}
	return s
}

func toFloat(v any) float64 {
	switch v := v.(type) {
	case int:
		return float64(v)
	case float64:
		return v
	}
	panic(fmt.Sprintf("metricstest: sample value %T", v))
}

func series(m, f string, ts map[string]string, s []metrics.Sample) metrics.Series {
	return metrics.Series{Measurement: m, Field: f, Tags: ts, Samples: s}
}

// diff compares answers: times by Equal, floats within 1e-9 relative, nil
// and empty alike.
func diff(want, got []metrics.Series) string {
	return cmp.Diff(want, got, cmpopts.EquateApprox(1e-9, 0), cmpopts.EquateEmpty())
}

func write(t *testing.T, st metrics.Store, pts ...metrics.Point) {
	t.Helper()
	if err := st.Write(t.Context(), pts); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func flush(t *testing.T, st metrics.Store) {
	t.Helper()
	if err := st.Flush(t.Context()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

// queryCase is one query and its answer.
type queryCase struct {
	name string
	q    metrics.Query
	want []metrics.Series
}

func runCases(t *testing.T, st metrics.Store, cases []queryCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := st.Query(t.Context(), tc.q)
			if err != nil {
				t.Fatalf("Query(%+v): %v", tc.q, err)
			}
			if d := diff(tc.want, got); d != "" {
				t.Errorf("Query(%+v) (-want +got):\n%s", tc.q, d)
			}
		})
	}
}

const (
	ms = time.Millisecond
	s  = time.Second
)

// The cpu fixture: five series of measurement cpu. Times straddle bucket
// boundaries (9.999999999s and 10s, 59s and 60s); s1 also carries a string
// and a bool field, and has points without the usage field.
var (
	s1Tags = tags("cpu", "cpu0", "node", "web-1")
	s2Tags = tags("cpu", "cpu1", "node", "web-1")
	s3Tags = tags("cpu", "cpu0", "node", "web-2")
	s4Tags = tags("node", "web-2")
	s5Tags = tags("cpu", "cpu0", "node", "web-1", "site", "paris")

	s1 = tagMap("cpu", "cpu0", "node", "web-1")
	s2 = tagMap("cpu", "cpu1", "node", "web-1")
	s3 = tagMap("cpu", "cpu0", "node", "web-2")
	s4 = tagMap("node", "web-2")
	s5 = tagMap("cpu", "cpu0", "node", "web-1", "site", "paris")
)

// cpuFixture is written in three calls, out of time order within a call
// and with one series spread over all three.
func cpuFixture() [][]metrics.Point {
	const nearly10 = 10*s - 1 // 9.999999999s
	return [][]metrics.Point{
		{
			point("cpu", s1Tags, 10*s, float("usage", 50)),
			point("cpu", s1Tags, 0, float("usage", 10), str("state", "ok"), boolean("up", true)),
			point("cpu", s1Tags, 500*ms, float("usage", 20)),
			point("cpu", s2Tags, 0, float("usage", 1)),
			point("cpu", s3Tags, 2*s, float("usage", 100)),
			point("cpu", s4Tags, 1*s, float("usage", 5.5)),
		},
		{
			point("cpu", s1Tags, nearly10, float("usage", 40)),
			point("cpu", s1Tags, 1*s, float("usage", 30)),
			point("cpu", s1Tags, 20*s, str("state", "degraded"), boolean("up", false)),
			point("cpu", s2Tags, 15*s, float("usage", 3)),
			point("cpu", s2Tags, 5*s, float("usage", 2)),
			point("cpu", s3Tags, 3*s, float("usage", -100)),
			point("cpu", s5Tags, 30*s, float("usage", 9)),
		},
		{
			point("cpu", s1Tags, 59*s, float("usage", 60)),
			point("cpu", s1Tags, 61500*ms, float("usage", 80)),
			point("cpu", s1Tags, 60*s, float("usage", 70)),
			point("cpu", s2Tags, 65*s, float("usage", 4)),
			point("cpu", s3Tags, 70*s, float("usage", 7)),
			// Outside every query's range.
			point("cpu", s1Tags, 2*time.Minute, float("usage", 1000)),
			point("cpu", s1Tags, -1, float("usage", -1000)),
		},
	}
}

func testQueries(t *testing.T, st metrics.Store) {
	for _, pts := range cpuFixture() {
		write(t, st, pts...)
	}
	flush(t, st)

	const nearly10 = 10*s - 1
	from, to := at(0), at(2*time.Minute)
	q := func(step time.Duration, agg metrics.Agg) metrics.Query {
		return metrics.Query{Measurement: "cpu", Field: "usage", From: from, To: to, Step: step, Agg: agg}
	}
	withNode := func(q metrics.Query, node string) metrics.Query { q.Node = node; return q }
	withTags := func(q metrics.Query, kv ...string) metrics.Query { q.Tags = tagMap(kv...); return q }
	cpu := func(ts map[string]string, smp []metrics.Sample) metrics.Series {
		return series("cpu", "usage", ts, smp)
	}

	runCases(t, st, []queryCase{
		{"raw", q(0, ""), []metrics.Series{
			cpu(s1, samples(0, 10, 500*ms, 20, 1*s, 30, nearly10, 40, 10*s, 50, 59*s, 60, 60*s, 70, 61500*ms, 80)),
			cpu(s5, samples(30*s, 9)),
			cpu(s3, samples(2*s, 100, 3*s, -100, 70*s, 7)),
			cpu(s2, samples(0, 1, 5*s, 2, 15*s, 3, 65*s, 4)),
			cpu(s4, samples(1*s, 5.5)),
		}},
		{"raw ignores agg", q(0, metrics.Max), []metrics.Series{
			cpu(s1, samples(0, 10, 500*ms, 20, 1*s, 30, nearly10, 40, 10*s, 50, 59*s, 60, 60*s, 70, 61500*ms, 80)),
			cpu(s5, samples(30*s, 9)),
			cpu(s3, samples(2*s, 100, 3*s, -100, 70*s, 7)),
			cpu(s2, samples(0, 1, 5*s, 2, 15*s, 3, 65*s, 4)),
			cpu(s4, samples(1*s, 5.5)),
		}},

		// Step 1s, node web-1 and cpu0: s1 and s5.
		{"1s mean", withTags(withNode(q(s, metrics.Mean), "web-1"), "cpu", "cpu0"), []metrics.Series{
			cpu(s1, samples(0, 15, 1*s, 30, 9*s, 40, 10*s, 50, 59*s, 60, 60*s, 70, 61*s, 80)),
			cpu(s5, samples(30*s, 9)),
		}},
		{"1s max", withTags(withNode(q(s, metrics.Max), "web-1"), "cpu", "cpu0"), []metrics.Series{
			cpu(s1, samples(0, 20, 1*s, 30, 9*s, 40, 10*s, 50, 59*s, 60, 60*s, 70, 61*s, 80)),
			cpu(s5, samples(30*s, 9)),
		}},
		{"1s min", withTags(withNode(q(s, metrics.Min), "web-1"), "cpu", "cpu0"), []metrics.Series{
			cpu(s1, samples(0, 10, 1*s, 30, 9*s, 40, 10*s, 50, 59*s, 60, 60*s, 70, 61*s, 80)),
			cpu(s5, samples(30*s, 9)),
		}},
		{"1s last", withTags(withNode(q(s, metrics.Last), "web-1"), "cpu", "cpu0"), []metrics.Series{
			cpu(s1, samples(0, 20, 1*s, 30, 9*s, 40, 10*s, 50, 59*s, 60, 60*s, 70, 61*s, 80)),
			cpu(s5, samples(30*s, 9)),
		}},

		// Step 10s, every series.
		{"10s mean", q(10*s, metrics.Mean), []metrics.Series{
			cpu(s1, samples(0, 25, 10*s, 50, 50*s, 60, 60*s, 75)),
			cpu(s5, samples(30*s, 9)),
			cpu(s3, samples(0, 0, 70*s, 7)),
			cpu(s2, samples(0, 1.5, 10*s, 3, 60*s, 4)),
			cpu(s4, samples(0, 5.5)),
		}},
		{"10s max", q(10*s, metrics.Max), []metrics.Series{
			cpu(s1, samples(0, 40, 10*s, 50, 50*s, 60, 60*s, 80)),
			cpu(s5, samples(30*s, 9)),
			cpu(s3, samples(0, 100, 70*s, 7)),
			cpu(s2, samples(0, 2, 10*s, 3, 60*s, 4)),
			cpu(s4, samples(0, 5.5)),
		}},
		{"10s min", q(10*s, metrics.Min), []metrics.Series{
			cpu(s1, samples(0, 10, 10*s, 50, 50*s, 60, 60*s, 70)),
			cpu(s5, samples(30*s, 9)),
			cpu(s3, samples(0, -100, 70*s, 7)),
			cpu(s2, samples(0, 1, 10*s, 3, 60*s, 4)),
			cpu(s4, samples(0, 5.5)),
		}},
		{"10s last", q(10*s, metrics.Last), []metrics.Series{
			cpu(s1, samples(0, 40, 10*s, 50, 50*s, 60, 60*s, 80)),
			cpu(s5, samples(30*s, 9)),
			cpu(s3, samples(0, -100, 70*s, 7)),
			cpu(s2, samples(0, 2, 10*s, 3, 60*s, 4)),
			cpu(s4, samples(0, 5.5)),
		}},

		// Step 1m, tag cpu=cpu0: s1, s5 and s3.
		{"1m mean", withTags(q(time.Minute, metrics.Mean), "cpu", "cpu0"), []metrics.Series{
			cpu(s1, samples(0, 35, 60*s, 75)),
			cpu(s5, samples(0, 9)),
			cpu(s3, samples(0, 0, 60*s, 7)),
		}},
		{"1m max", withTags(q(time.Minute, metrics.Max), "cpu", "cpu0"), []metrics.Series{
			cpu(s1, samples(0, 60, 60*s, 80)),
			cpu(s5, samples(0, 9)),
			cpu(s3, samples(0, 100, 60*s, 7)),
		}},
		{"1m min", withTags(q(time.Minute, metrics.Min), "cpu", "cpu0"), []metrics.Series{
			cpu(s1, samples(0, 10, 60*s, 70)),
			cpu(s5, samples(0, 9)),
			cpu(s3, samples(0, -100, 60*s, 7)),
		}},
		{"1m last", withTags(q(time.Minute, metrics.Last), "cpu", "cpu0"), []metrics.Series{
			cpu(s1, samples(0, 60, 60*s, 80)),
			cpu(s5, samples(0, 9)),
			cpu(s3, samples(0, -100, 60*s, 7)),
		}},

		// Filters.
		{"node filter", withNode(q(0, ""), "web-2"), []metrics.Series{
			cpu(s3, samples(2*s, 100, 3*s, -100, 70*s, 7)),
			cpu(s4, samples(1*s, 5.5)),
		}},
		{"node as a tag", withTags(q(0, ""), "node", "web-2"), []metrics.Series{
			cpu(s3, samples(2*s, 100, 3*s, -100, 70*s, 7)),
			cpu(s4, samples(1*s, 5.5)),
		}},
		{"node and tag disagree", withTags(withNode(q(0, ""), "web-1"), "node", "web-2"), nil},
		{"two tags", withTags(q(time.Minute, metrics.Max), "cpu", "cpu0", "site", "paris"), []metrics.Series{
			cpu(s5, samples(0, 9)),
		}},
		{"unknown tag value", withTags(q(0, ""), "cpu", "cpu9"), nil},
		{"unknown tag key", withTags(q(0, ""), "rack", "r1"), nil},
		{"unknown node", withNode(q(0, ""), "db-1"), nil},

		// [From, To): a point exactly at From is in, one exactly at To is out.
		{"bounds raw", metrics.Query{Measurement: "cpu", Field: "usage", Node: "web-1", Tags: tagMap("cpu", "cpu0"),
			From: at(1 * s), To: at(10 * s)}, []metrics.Series{
			cpu(s1, samples(1*s, 30, nearly10, 40)),
		}},
		{"bounds one nanosecond", metrics.Query{Measurement: "cpu", Field: "usage", Node: "web-1", Tags: tagMap("cpu", "cpu0"),
			From: at(nearly10), To: at(10*s + 1)}, []metrics.Series{
			cpu(s1, samples(nearly10, 40, 10*s, 50)),
		}},
		// An unaligned From: the first bucket is reported at its start,
		// before From, with only the samples from From on.
		{"bounds unaligned mean", metrics.Query{Measurement: "cpu", Field: "usage", Node: "web-1", Tags: tagMap("cpu", "cpu1"),
			From: at(5 * s), To: at(15 * s), Step: 10 * s, Agg: metrics.Mean}, []metrics.Series{
			cpu(s2, samples(0, 2)),
		}},
		{"bounds unaligned max", metrics.Query{Measurement: "cpu", Field: "usage", Node: "web-1", Tags: tagMap("cpu", "cpu0"),
			From: at(10 * s), To: at(61 * s), Step: time.Minute, Agg: metrics.Max}, []metrics.Series{
			cpu(s1, samples(0, 60, 60*s, 70)),
			cpu(s5, samples(0, 9)),
		}},
		{"bounds unaligned min", metrics.Query{Measurement: "cpu", Field: "usage", Node: "web-1", Tags: tagMap("cpu", "cpu0"),
			From: at(500 * ms), To: at(61 * s), Step: time.Minute, Agg: metrics.Min}, []metrics.Series{
			cpu(s1, samples(0, 20, 60*s, 70)),
			cpu(s5, samples(0, 9)),
		}},
		{"range without samples", metrics.Query{Measurement: "cpu", Field: "usage", From: at(71 * s), To: at(119 * s)}, nil},

		// Only numeric fields are answered.
		{"string field raw", metrics.Query{Measurement: "cpu", Field: "state", From: from, To: to}, nil},
		{"string field mean", metrics.Query{Measurement: "cpu", Field: "state", From: from, To: to, Step: s, Agg: metrics.Mean}, nil},
		{"string field last", metrics.Query{Measurement: "cpu", Field: "state", From: from, To: to, Step: s, Agg: metrics.Last}, nil},
		{"bool field raw", metrics.Query{Measurement: "cpu", Field: "up", From: from, To: to}, nil},
		{"bool field max", metrics.Query{Measurement: "cpu", Field: "up", From: from, To: to, Step: time.Minute, Agg: metrics.Max}, nil},
		{"unknown field", metrics.Query{Measurement: "cpu", Field: "steal", From: from, To: to}, nil},
		{"unknown measurement", metrics.Query{Measurement: "nope", Field: "usage", From: from, To: to}, nil},
		{"unknown measurement mean", metrics.Query{Measurement: "nope", Field: "usage", From: from, To: to, Step: s, Agg: metrics.Mean}, nil},
	})
}

// testValueKinds writes one field name as a float, an int and a uint in
// three measurements, with bools and strings beside them.
func testValueKinds(t *testing.T, st metrics.Store) {
	web1 := tags("node", "web-1")
	write(t, st,
		point("gauge", web1, 0, float("value", 0.25), str("unit", "ratio")),
		point("gauge", web1, 3*s, float("value", -0.5), boolean("ok", true)),
		point("gauge", web1, 4*s, float("value", 1e300)),
		point("counter", web1, 0, integer("value", 1)),
		point("counter", web1, 1*s, integer("value", 2)),
		point("counter", web1, 2*s, integer("value", 4)),
		point("counter", web1, 10*s, integer("value", -7)),
		point("counter", web1, 11*s, integer("value", math.MaxInt32*4)),
		point("bytes", web1, 0, unsigned("value", 1<<40)),
		point("bytes", web1, 10*s, unsigned("value", 3)),
		point("flags", web1, 0, boolean("value", true), str("name", "x")),
		point("labels", web1, 0, str("value", "3.5")),
	)
	flush(t, st)
	from, to := at(0), at(time.Minute)
	node := tagMap("node", "web-1")
	runCases(t, st, []queryCase{
		{"float raw", metrics.Query{Measurement: "gauge", Field: "value", From: from, To: to},
			[]metrics.Series{series("gauge", "value", node, samples(0, 0.25, 3*s, -0.5, 4*s, 1e300))}},
		{"float mean", metrics.Query{Measurement: "gauge", Field: "value", From: from, To: to, Step: 3 * s, Agg: metrics.Mean},
			[]metrics.Series{series("gauge", "value", node, samples(0, 0.25, 3*s, 5e299))}},
		{"int raw", metrics.Query{Measurement: "counter", Field: "value", From: from, To: to},
			[]metrics.Series{series("counter", "value", node, samples(0, 1, 1*s, 2, 2*s, 4, 10*s, -7, 11*s, math.MaxInt32*4))}},
		{"int mean", metrics.Query{Measurement: "counter", Field: "value", From: from, To: to, Step: 10 * s, Agg: metrics.Mean},
			[]metrics.Series{series("counter", "value", node, samples(0, 7.0/3, 10*s, (float64(math.MaxInt32*4)-7)/2))}},
		{"int max", metrics.Query{Measurement: "counter", Field: "value", From: from, To: to, Step: 10 * s, Agg: metrics.Max},
			[]metrics.Series{series("counter", "value", node, samples(0, 4, 10*s, math.MaxInt32*4))}},
		{"int min", metrics.Query{Measurement: "counter", Field: "value", From: from, To: to, Step: time.Minute, Agg: metrics.Min},
			[]metrics.Series{series("counter", "value", node, samples(0, -7))}},
		{"int last", metrics.Query{Measurement: "counter", Field: "value", From: from, To: to, Step: 5 * s, Agg: metrics.Last},
			[]metrics.Series{series("counter", "value", node, samples(0, 4, 10*s, math.MaxInt32*4))}},
		{"uint raw", metrics.Query{Measurement: "bytes", Field: "value", From: from, To: to},
			[]metrics.Series{series("bytes", "value", node, samples(0, float64(1<<40), 10*s, 3))}},
		{"uint max", metrics.Query{Measurement: "bytes", Field: "value", From: from, To: to, Step: time.Minute, Agg: metrics.Max},
			[]metrics.Series{series("bytes", "value", node, samples(0, float64(1<<40)))}},
		{"uint mean", metrics.Query{Measurement: "bytes", Field: "value", From: from, To: to, Step: time.Minute, Agg: metrics.Mean},
			[]metrics.Series{series("bytes", "value", node, samples(0, float64(1<<40+3)/2))}},
		{"bool raw", metrics.Query{Measurement: "flags", Field: "value", From: from, To: to}, nil},
		{"bool last", metrics.Query{Measurement: "flags", Field: "value", From: from, To: to, Step: s, Agg: metrics.Last}, nil},
		{"numeric-looking string", metrics.Query{Measurement: "labels", Field: "value", From: from, To: to}, nil},
		{"string beside a float", metrics.Query{Measurement: "gauge", Field: "unit", From: from, To: to}, nil},
	})
}

// testEscaping stores names and values that need escaping in line
// protocol and quoting in query languages.
func testEscaping(t *testing.T, st metrics.Store) {
	const m = `we"ird,m x`
	weird := []metrics.Tag{
		{Key: "k ey", Value: `c:\dir\x`},
		{Key: "node", Value: "web 1"},
		{Key: "q", Value: `it's "q", a=b`},
	}
	write(t, st,
		point(m, weird, 0, float(`f=x "y"`, 1), str("s", "a \"quoted\"\\ string\nwith a newline")),
		point(m, weird, 1*s, float(`f=x "y"`, 2)),
		point(m, tags("node", "web 1", "q", `it\'s`), 2*s, float(`f=x "y"`, 3)),
		point("plain", tags("node", `'; DROP MEASUREMENT plain; --`), 0, float("v", 4)),
	)
	flush(t, st)
	from, to := at(0), at(time.Minute)
	weirdMap := map[string]string{"k ey": `c:\dir\x`, "node": "web 1", "q": `it's "q", a=b`}
	runCases(t, st, []queryCase{
		{"every series", metrics.Query{Measurement: m, Field: `f=x "y"`, From: from, To: to}, []metrics.Series{
			series(m, `f=x "y"`, weirdMap, samples(0, 1, 1*s, 2)),
			series(m, `f=x "y"`, tagMap("node", "web 1", "q", `it\'s`), samples(2*s, 3)),
		}},
		{"quoted tag values", metrics.Query{Measurement: m, Field: `f=x "y"`, Node: "web 1",
			Tags: map[string]string{"k ey": `c:\dir\x`, "q": `it's "q", a=b`}, From: from, To: to, Step: time.Minute, Agg: metrics.Mean},
			[]metrics.Series{series(m, `f=x "y"`, weirdMap, samples(0, 1.5))}},
		{"backslash before a quote", metrics.Query{Measurement: m, Field: `f=x "y"`, Tags: tagMap("q", `it\'s`), From: from, To: to},
			[]metrics.Series{series(m, `f=x "y"`, tagMap("node", "web 1", "q", `it\'s`), samples(2*s, 3))}},
		{"injection is a value", metrics.Query{Measurement: "plain", Field: "v", Node: `'; DROP MEASUREMENT plain; --`, From: from, To: to},
			[]metrics.Series{series("plain", "v", tagMap("node", `'; DROP MEASUREMENT plain; --`), samples(0, 4))}},
		{"prefix of a quoted value", metrics.Query{Measurement: m, Field: `f=x "y"`, Tags: tagMap("q", `it's`), From: from, To: to}, nil},
	})
}

// testSorting pins the order of series: by tag set, pair by pair.
func testSorting(t *testing.T, st metrics.Store) {
	sets := [][]metrics.Tag{
		tags("node", "n1"),
		tags("a-b", "z"),
		tags("a", "x-1"),
		tags("b", "1"),
		tags("a", "x", "b", "y"),
		tags("a", "x"),
	}
	for i, ts := range sets {
		write(t, st, point("sort", ts, time.Duration(i)*s, float("v", float64(i))))
	}
	flush(t, st)
	got, err := st.Query(t.Context(), metrics.Query{Measurement: "sort", Field: "v", From: at(0), To: at(time.Minute)})
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	var order []map[string]string
	for _, sr := range got {
		order = append(order, sr.Tags)
	}
	want := []map[string]string{
		tagMap("a", "x"),
		tagMap("a", "x", "b", "y"),
		tagMap("a", "x-1"),
		tagMap("a-b", "z"),
		tagMap("b", "1"),
		tagMap("node", "n1"),
	}
	if d := cmp.Diff(want, order); d != "" {
		t.Errorf("series order (-want +got):\n%s", d)
	}
}

func testInvalid(t *testing.T, st metrics.Store) {
	write(t, st, point("cpu", s1Tags, 0, float("usage", 1)))
	flush(t, st)
	from, to := at(0), at(time.Minute)
	valid := metrics.Query{Measurement: "cpu", Field: "usage", From: from, To: to, Step: s, Agg: metrics.Mean}
	cases := []struct {
		name   string
		change func(q *metrics.Query)
	}{
		{"no measurement", func(q *metrics.Query) { q.Measurement = "" }},
		{"no field", func(q *metrics.Query) { q.Field = "" }},
		{"no from", func(q *metrics.Query) { q.From = time.Time{} }},
		{"no to", func(q *metrics.Query) { q.To = time.Time{} }},
		{"from equals to", func(q *metrics.Query) { q.From = to }},
		{"from after to", func(q *metrics.Query) { q.From, q.To = to, from }},
		{"negative step", func(q *metrics.Query) { q.Step = -s }},
		{"step without agg", func(q *metrics.Query) { q.Agg = "" }},
		{"unknown agg", func(q *metrics.Query) { q.Agg = "median" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := valid
			tc.change(&q)
			got, err := st.Query(t.Context(), q)
			if !errors.Is(err, metrics.ErrInvalidQuery) {
				t.Fatalf("Query(%+v) = %v, %v; want an error wrapping metrics.ErrInvalidQuery", q, got, err)
			}
		})
	}
	t.Run("valid", func(t *testing.T) {
		got, err := st.Query(t.Context(), valid)
		if err != nil {
			t.Fatal(err)
		}
		if d := diff([]metrics.Series{series("cpu", "usage", s1, samples(0, 1))}, got); d != "" {
			t.Errorf("(-want +got):\n%s", d)
		}
	})
}

// testWriteAfterQuery checks that points written after a query are seen
// by the next one, in a series the store already answered for and a new one.
func testWriteAfterQuery(t *testing.T, st metrics.Store) {
	q := metrics.Query{Measurement: "cpu", Field: "usage", From: at(0), To: at(time.Minute)}
	write(t, st, point("cpu", s1Tags, 0, float("usage", 1)))
	flush(t, st)
	got, err := st.Query(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	if d := diff([]metrics.Series{series("cpu", "usage", s1, samples(0, 1))}, got); d != "" {
		t.Fatalf("first query (-want +got):\n%s", d)
	}
	write(t, st, point("cpu", s1Tags, 2*s, float("usage", 2)), point("cpu", s2Tags, s, float("usage", 3)))
	flush(t, st)
	got, err = st.Query(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	want := []metrics.Series{
		series("cpu", "usage", s1, samples(0, 1, 2*s, 2)),
		series("cpu", "usage", s2, samples(1*s, 3)),
	}
	if d := diff(want, got); d != "" {
		t.Errorf("after the second write (-want +got):\n%s", d)
	}
}

// testLargeBatch writes 50,000 points in one call: 50 series of 1,000
// points a second apart, point i of series k holding k*1000+i.
func testLargeBatch(t *testing.T, st metrics.Store) {
	const nSeries, nPoints = 50, 1000
	pts := make([]metrics.Point, 0, nSeries*nPoints)
	for k := range nSeries {
		ts := tags("node", fmt.Sprintf("n%02d", k), "plugin", "load")
		for i := range nPoints {
			pts = append(pts, point("bulk", ts, time.Duration(i)*s, float("v", float64(k*1000+i)), integer("n", int64(i))))
		}
	}
	write(t, st, pts...)
	flush(t, st)

	from, to := at(0), at(nPoints*s)
	got, err := st.Query(t.Context(), metrics.Query{Measurement: "bulk", Field: "v", From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	var want []metrics.Series
	for k := range nSeries {
		var smp []metrics.Sample
		for i := range nPoints {
			smp = append(smp, metrics.Sample{Time: at(time.Duration(i) * s), Value: float64(k*1000 + i)})
		}
		want = append(want, series("bulk", "v", tagMap("node", fmt.Sprintf("n%02d", k), "plugin", "load"), smp))
	}
	// cmp.Diff takes seconds over 50,000 samples under -race: compare
	// by hand, reporting the first differences.
	if len(got) != len(want) {
		t.Fatalf("raw round trip of 50,000 points: %d series; want %d", len(got), len(want))
	}
	bad := 0
	for i := range want {
		w, g := want[i], got[i]
		if g.Measurement != w.Measurement || g.Field != w.Field || !cmp.Equal(g.Tags, w.Tags) || len(g.Samples) != len(w.Samples) {
			t.Errorf("series %d: %s %s %v with %d samples; want %s %s %v with %d",
				i, g.Measurement, g.Field, g.Tags, len(g.Samples), w.Measurement, w.Field, w.Tags, len(w.Samples))
			bad++
			continue
		}
		for j := range w.Samples {
			if !g.Samples[j].Time.Equal(w.Samples[j].Time) || g.Samples[j].Value != w.Samples[j].Value {
				t.Errorf("series %v sample %d: %v; want %v", w.Tags, j, g.Samples[j], w.Samples[j])
				bad++
				break
			}
		}
		if bad >= 5 {
			t.Fatal("too many differences")
		}
	}

	// Sum of 0..999 is 499500; over 100s buckets: bucket b holds i in
	// [100b, 100b+100), whose n mean is 100b+49.5.
	got, err = st.Query(t.Context(), metrics.Query{Measurement: "bulk", Field: "n", Node: "n07", From: from, To: to, Step: 100 * s, Agg: metrics.Mean})
	if err != nil {
		t.Fatal(err)
	}
	var smp []metrics.Sample
	for b := range 10 {
		smp = append(smp, metrics.Sample{Time: at(time.Duration(b*100) * s), Value: float64(b*100) + 49.5})
	}
	want = []metrics.Series{series("bulk", "n", tagMap("node", "n07", "plugin", "load"), smp)}
	if d := diff(want, got); d != "" {
		t.Errorf("mean of one series (-want +got):\n%s", d)
	}
}
