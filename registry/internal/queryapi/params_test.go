package queryapi

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vigilmon/vigil/registry/internal/metrics"
)

var testNow = time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC)

func TestParseQuery(t *testing.T) {
	base := func(change func(q *metrics.Query)) metrics.Query {
		q := metrics.Query{Measurement: "cpu", Field: "usage", From: testNow.Add(-time.Hour), To: testNow, Agg: metrics.Mean}
		if change != nil {
			change(&q)
		}
		return q
	}
	cases := []struct {
		name    string
		query   string
		want    metrics.Query
		wantErr string
	}{
		{"defaults", "measurement=cpu&field=usage", base(nil), ""},
		{"everything", "node=web-1&measurement=cpu&field=usage&tag.cpu=cpu0&tag.site=paris+nord&from=2026-11-22T09:00:00Z&to=2026-11-22T10:00:00.5Z&step=10s&agg=max",
			base(func(q *metrics.Query) {
				q.Node = "web-1"
				q.Tags = map[string]string{"cpu": "cpu0", "site": "paris nord"}
				q.From = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
				q.To = time.Date(2026, 11, 22, 10, 0, 0, 5e8, time.UTC)
				q.Step = 10 * time.Second
				q.Agg = metrics.Max
			}), ""},
		{"tag named node", "measurement=cpu&field=usage&tag.node=web-2", base(func(q *metrics.Query) { q.Tags = map[string]string{"node": "web-2"} }), ""},
		{"rfc 3339 with offset", "measurement=cpu&field=usage&from=2026-11-22T11:00:00%2B02:00",
			base(func(q *metrics.Query) { q.From = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC) }), ""},
		{"unix seconds", "measurement=cpu&field=usage&from=1795338000&to=1795340000.25",
			base(func(q *metrics.Query) { q.From = time.Unix(1795338000, 0); q.To = time.Unix(1795340000, 25e7) }), ""},
		{"unix nanosecond fraction", "measurement=cpu&field=usage&from=1795338000.000000001&to=1795338001",
			base(func(q *metrics.Query) { q.From = time.Unix(1795338000, 1); q.To = time.Unix(1795338001, 0) }), ""},
		{"relative from", "measurement=cpu&field=usage&from=-15m", base(func(q *metrics.Query) { q.From = testNow.Add(-15 * time.Minute) }), ""},
		{"now minus", "measurement=cpu&field=usage&from=now-2h&to=now-1h",
			base(func(q *metrics.Query) { q.From = testNow.Add(-2 * time.Hour); q.To = testNow.Add(-time.Hour) }), ""},
		{"to relative, from defaults to an hour before to", "measurement=cpu&field=usage&to=-1h",
			base(func(q *metrics.Query) { q.From = testNow.Add(-2 * time.Hour); q.To = testNow.Add(-time.Hour) }), ""},
		{"to in the future", "measurement=cpu&field=usage&to=%2B5m&from=now",
			base(func(q *metrics.Query) { q.From = testNow; q.To = testNow.Add(5 * time.Minute) }), ""},
		{"step zero is raw", "measurement=cpu&field=usage&step=0", base(nil), ""},
		{"empty step is raw", "measurement=cpu&field=usage&step=&agg=", base(nil), ""},
		{"agg last", "measurement=cpu&field=usage&step=1m&agg=last",
			base(func(q *metrics.Query) { q.Step = time.Minute; q.Agg = metrics.Last }), ""},
		{"agg min", "measurement=cpu&field=usage&step=1h30m&agg=min",
			base(func(q *metrics.Query) { q.Step = 90 * time.Minute; q.Agg = metrics.Min }), ""},

		{"no measurement", "field=usage", metrics.Query{}, "measurement: required"},
		{"empty measurement", "measurement=&field=usage", metrics.Query{}, "measurement: required"},
		{"no field", "measurement=cpu", metrics.Query{}, "field: required"},
		{"bad step", "measurement=cpu&field=usage&step=10x", metrics.Query{}, `step: time: unknown unit "x" in duration "10x"`},
		{"step without unit", "measurement=cpu&field=usage&step=10", metrics.Query{}, `step: time: missing unit in duration "10"`},
		{"negative step", "measurement=cpu&field=usage&step=-1s", metrics.Query{}, "step: -1s is negative"},
		{"bad agg", "measurement=cpu&field=usage&step=1s&agg=median", metrics.Query{}, `agg: "median" is not one of mean, max, min, last`},
		{"bad agg without step", "measurement=cpu&field=usage&agg=sum", metrics.Query{}, `agg: "sum" is not one of mean, max, min, last`},
		{"bad from", "measurement=cpu&field=usage&from=yesterday", metrics.Query{},
			`from: "yesterday": want RFC 3339 (2026-11-22T10:00:00Z), Unix seconds, "now", or a duration from now such as "-1h"`},
		{"bad relative", "measurement=cpu&field=usage&from=-1y", metrics.Query{}, `from: time: unknown unit "y" in duration "-1y"`},
		{"now without sign", "measurement=cpu&field=usage&from=now1h", metrics.Query{},
			`from: "now1h": want RFC 3339 (2026-11-22T10:00:00Z), Unix seconds, "now", or a duration from now such as "-1h"`},
		{"date only", "measurement=cpu&field=usage&to=2026-11-22", metrics.Query{},
			`to: "2026-11-22": want RFC 3339 (2026-11-22T10:00:00Z), Unix seconds, "now", or a duration from now such as "-1h"`},
		{"too many decimals", "measurement=cpu&field=usage&to=1795338000.0000000001", metrics.Query{},
			`to: "1795338000.0000000001": want RFC 3339 (2026-11-22T10:00:00Z), Unix seconds, "now", or a duration from now such as "-1h"`},
		{"trailing dot", "measurement=cpu&field=usage&to=1795338000.", metrics.Query{},
			`to: "1795338000.": want RFC 3339 (2026-11-22T10:00:00Z), Unix seconds, "now", or a duration from now such as "-1h"`},
		{"beyond nanoseconds", "measurement=cpu&field=usage&to=99999999999", metrics.Query{},
			"to: 5138-11-16T09:46:39Z is outside the years 1678 to 2262 that nanosecond timestamps cover"},
		{"from after to", "measurement=cpu&field=usage&from=now&to=-1h", metrics.Query{},
			"from: 2026-11-22T10:30:00Z is not before to (2026-11-22T09:30:00Z)"},
		{"from equals to", "measurement=cpu&field=usage&from=1795338000&to=1795338000", metrics.Query{},
			"from: 2026-11-22T09:00:00Z is not before to (2026-11-22T09:00:00Z)"},
		{"unknown parameter", "measurement=cpu&field=usage&fields=x", metrics.Query{},
			"fields: unknown parameter; want node, measurement, field, tag.<key>, from, to, step or agg"},
		{"repeated parameter", "measurement=cpu&field=usage&node=a&node=b", metrics.Query{}, "node: given 2 times; give it once"},
		{"repeated tag", "measurement=cpu&field=usage&tag.cpu=a&tag.cpu=b", metrics.Query{}, "tag.cpu: given 2 times; give it once"},
		{"empty tag key", "measurement=cpu&field=usage&tag.=a", metrics.Query{}, `tag.: the tag key after "tag." is empty`},
		{"empty tag value", "measurement=cpu&field=usage&tag.cpu=", metrics.Query{}, "tag.cpu: empty value; a tag filter needs a value"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseQuery(v, testNow)
			if tc.wantErr != "" {
				var pe *paramError
				if err == nil || err.Error() != tc.wantErr || !errors.As(err, &pe) {
					t.Fatalf("parseQuery(%q) error = %v; want a parameter error %q", tc.query, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseQuery(%q): %v", tc.query, err)
			}
			if d := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("parseQuery(%q) (-want +got):\n%s", tc.query, d)
			}
		})
	}
}

// FuzzParseQuery checks that any query string either fails with a
// parameter error or gives a query every store accepts.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"measurement=cpu&field=usage",
		"node=web-1&measurement=cpu&field=usage&tag.cpu=cpu0&from=2026-11-22T09:00:00Z&to=now&step=10s&agg=max",
		"measurement=cpu&field=usage&from=1795338000.5&to=%2B1h",
		"measurement=cpu&field=usage&from=now-1h&to=-1ns&step=1ns&agg=last",
		"measurement=cpu&field=usage&step=-5m",
		"measurement=cpu&field=usage&from=-9223372036s",
		"tag.=x&tag.a=&measurement=m&field=f",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseQuery(v, testNow)
		if err != nil {
			var pe *paramError
			if !errors.As(err, &pe) {
				t.Fatalf("parseQuery(%q) = %v; want a *paramError", raw, err)
			}
			return
		}
		if err := q.Validate(); err != nil {
			t.Fatalf("parseQuery(%q) = %+v, which is invalid: %v", raw, q, err)
		}
	})
}
