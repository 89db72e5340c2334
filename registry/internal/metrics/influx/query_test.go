package influx

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vigilmon/vigil/registry/internal/metrics"
)

func TestInfluxQL(t *testing.T) {
	from, to := time.Unix(1795338000, 0), time.Unix(1795338600, 5)
	cases := []struct {
		name string
		q    metrics.Query
		want string
	}{
		{"raw", metrics.Query{Measurement: "cpu", Field: "usage", From: from, To: to},
			`SELECT "usage"::float FROM "cpu" WHERE time >= 1795338000000000000 AND time < 1795338600000000005 GROUP BY *`},
		{"mean with node and tags", metrics.Query{Measurement: "cpu", Field: "usage", Node: "web-1", Tags: map[string]string{"site": "paris", "cpu": "cpu0"},
			From: from, To: to, Step: 10 * time.Second, Agg: metrics.Mean},
			`SELECT mean("usage"::float) FROM "cpu" WHERE time >= 1795338000000000000 AND time < 1795338600000000005` +
				` AND "node"::tag = 'web-1' AND "cpu"::tag = 'cpu0' AND "site"::tag = 'paris' GROUP BY time(10000000000ns), * fill(none)`},
		{"last", metrics.Query{Measurement: "m", Field: "f", From: from, To: to, Step: time.Nanosecond, Agg: metrics.Last},
			`SELECT last("f"::float) FROM "m" WHERE time >= 1795338000000000000 AND time < 1795338600000000005 GROUP BY time(1ns), * fill(none)`},
		{"escaping", metrics.Query{Measurement: `we"ird,m x\`, Field: `f=x "y"`, Node: `it's`,
			Tags: map[string]string{`k "ey"`: `c:\dir\'x'`, "nl": "a\nb"}, From: from, To: to, Step: time.Minute, Agg: metrics.Max},
			`SELECT max("f=x \"y\""::float) FROM "we\"ird,m x\\" WHERE time >= 1795338000000000000 AND time < 1795338600000000005` +
				` AND "node"::tag = 'it\'s' AND "k \"ey\""::tag = 'c:\\dir\\\'x\'' AND "nl"::tag = 'a\nb' GROUP BY time(60000000000ns), * fill(none)`},
		{"injection stays a string", metrics.Query{Measurement: "m", Field: "f", Node: `x' OR 1=1; DROP DATABASE "d"; --`, From: from, To: to},
			`SELECT "f"::float FROM "m" WHERE time >= 1795338000000000000 AND time < 1795338600000000005 AND "node"::tag = 'x\' OR 1=1; DROP DATABASE "d"; --' GROUP BY *`},
		{"times beyond nanoseconds", metrics.Query{Measurement: "m", Field: "f", From: time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)},
			`SELECT "f"::float FROM "m" WHERE time >= -9223372036854775808 AND time < 9223372036854775807 GROUP BY *`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := influxQL(tc.q); got != tc.want {
				t.Errorf("influxQL:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestReadSeries(t *testing.T) {
	q := metrics.Query{Measurement: "cpu", Field: "usage"}
	at := func(ns int64) time.Time { return time.Unix(0, ns) }
	cases := []struct {
		name    string
		body    string
		want    []metrics.Series
		wantErr string
	}{
		{"empty", `{"results":[{"statement_id":0}]}`, nil, ""},
		{"chunks split a series; empty tags dropped; sorted", `{"results":[{"statement_id":0,"series":[` +
			`{"name":"cpu","tags":{"cpu":"cpu1","node":"a"},"columns":["time","usage"],"values":[[1,1.5],[2,2]],"partial":true}],"partial":true}]}
{"results":[{"statement_id":0,"series":[` +
			`{"name":"cpu","tags":{"cpu":"cpu1","node":"a"},"columns":["time","usage"],"values":[[3,1e+300],[4,null]]},` +
			`{"name":"cpu","tags":{"cpu":"","node":"a"},"columns":["time","usage"],"values":[[5,-7]]},` +
			`{"name":"cpu","tags":{"cpu":"cpu0","node":"a"},"columns":["time","mean"],"values":[[6,9223372036854775807]]},` +
			`{"name":"cpu","tags":{"cpu":"cpu0","node":""},"columns":["time","mean"],"values":[[7,null]]}]}]}
`, []metrics.Series{
			{Measurement: "cpu", Field: "usage", Tags: map[string]string{"cpu": "cpu0", "node": "a"}, Samples: []metrics.Sample{{Time: at(6), Value: 9223372036854775807}}},
			{Measurement: "cpu", Field: "usage", Tags: map[string]string{"cpu": "cpu1", "node": "a"}, Samples: []metrics.Sample{{Time: at(1), Value: 1.5}, {Time: at(2), Value: 2}, {Time: at(3), Value: 1e300}}},
			{Measurement: "cpu", Field: "usage", Tags: map[string]string{"node": "a"}, Samples: []metrics.Sample{{Time: at(5), Value: -7}}},
		}, ""},
		{"statement error", `{"results":[{"statement_id":0,"error":"database not found: x"}]}`, nil, "InfluxDB: database not found: x"},
		{"top-level error", `{"error":"error parsing query: found EOF"}`, nil, "InfluxDB: error parsing query: found EOF"},
		{"error in a later chunk", `{"results":[{"statement_id":0,"series":[{"name":"cpu","columns":["time","usage"],"values":[[1,1]]}]}]}
{"results":[{"statement_id":0,"error":"query interrupted"}]}`, nil, "InfluxDB: query interrupted"},
		{"not JSON", `<html>`, nil, "decoding InfluxDB's answer: invalid character '<' looking for beginning of value"},
		{"three columns", `{"results":[{"series":[{"name":"cpu","columns":["time","a","b"],"values":[[1,1,1]]}]}]}`, nil,
			`decoding InfluxDB's answer: columns ["time" "a" "b"], want time and one value`},
		{"a string value", `{"results":[{"series":[{"name":"cpu","columns":["time","usage"],"values":[[1,"x"]]}]}]}`, nil,
			`decoding InfluxDB's answer: value "x": strconv.ParseFloat: parsing "\"x\"": invalid syntax`},
		{"a bad time", `{"results":[{"series":[{"name":"cpu","columns":["time","usage"],"values":[["2026-01-01T00:00:00Z",1]]}]}]}`, nil,
			`decoding InfluxDB's answer: time "2026-01-01T00:00:00Z": strconv.ParseInt: parsing "\"2026-01-01T00:00:00Z\"": invalid syntax`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readSeries(strings.NewReader(tc.body), q)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("readSeries error = %v; want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// FuzzReadSeries feeds arbitrary answers to the decoder of InfluxDB's
// answers: it must fail cleanly or give sorted series of samples.
func FuzzReadSeries(f *testing.F) {
	f.Add(`{"results":[{"statement_id":0,"series":[{"name":"cpu","tags":{"node":"a","x":""},"columns":["time","usage"],"values":[[1,1.5],[2,null]],"partial":true}]}]}
{"results":[{"statement_id":0,"series":[{"name":"cpu","tags":{"node":"a"},"columns":["time","usage"],"values":[[3,2]]}]}]}`)
	f.Add(`{"results":[{"statement_id":0,"error":"database not found: x"}]}`)
	f.Add(`{"error":"x"}`)
	f.Add(`{"results":[{"series":[{"name":"cpu","columns":["time","v"],"values":[[1],[2,3,4],[]]}]}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		got, err := readSeries(strings.NewReader(body), metrics.Query{Measurement: "cpu", Field: "usage"})
		if err != nil {
			return
		}
		for i, s := range got {
			if len(s.Samples) == 0 {
				t.Errorf("series %d has no samples", i)
			}
			if i > 0 && s.Measurement == got[i-1].Measurement && compareTags(got[i-1].Tags, s.Tags) >= 0 {
				t.Errorf("series %d and %d out of order: %v, %v", i-1, i, got[i-1].Tags, s.Tags)
			}
			for k, v := range s.Tags {
				if v == "" {
					t.Errorf("series %d: empty tag %q", i, k)
				}
			}
		}
	})
}

func TestCompareTags(t *testing.T) {
	sets := []map[string]string{
		{},
		{"a": "x"},
		{"a": "x", "b": "y"},
		{"a": "x-1"},
		{"a-b": "z"},
		{"b": "1"},
		{"node": "n1"},
	}
	for i := range sets {
		for j := range sets {
			want := 0
			switch {
			case i < j:
				want = -1
			case i > j:
				want = 1
			}
			if got := compareTags(sets[i], sets[j]); got != want {
				t.Errorf("compareTags(%v, %v) = %d; want %d", sets[i], sets[j], got, want)
			}
		}
	}
}
