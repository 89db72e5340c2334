package influx

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/influxdata/line-protocol/v2/lineprotocol"

	"github.com/vigilmon/vigil/registry/internal/metrics"
)

func fl(k string, v float64) metrics.Field {
	return metrics.Field{Key: k, Value: metrics.Value{Kind: metrics.Float, F: v}}
}

func tg(kv ...string) []metrics.Tag {
	var ts []metrics.Tag
	for i := 0; i < len(kv); i += 2 {
		ts = append(ts, metrics.Tag{Key: kv[i], Value: kv[i+1]})
	}
	return ts
}

func TestAppendPoints(t *testing.T) {
	cases := []struct {
		name string
		pts  []metrics.Point
		want string
		enc  encoded
	}{
		{"every kind", []metrics.Point{{Measurement: "cpu", Tags: tg("cpu", "cpu0", "node", "web-1"), Time: 1795338000000000001, Fields: []metrics.Field{
			fl("f", 12.5),
			{Key: "i", Value: metrics.Value{Kind: metrics.Int, I: -42}},
			{Key: "u", Value: metrics.Value{Kind: metrics.Uint, U: math.MaxInt64}},
			{Key: "b", Value: metrics.Value{Kind: metrics.Bool, B: true}},
			{Key: "s", Value: metrics.Value{Kind: metrics.String, S: `say "hi" \ bye` + "\nnext"}},
			fl("big", 1e300), fl("whole", 3), fl("neg0", math.Copysign(0, -1)),
		}}},
			"cpu,cpu=cpu0,node=web-1 f=12.5,i=-42i,u=9223372036854775807i,b=true,s=\"say \\\"hi\\\" \\\\ bye\nnext\",big=1e+300,whole=3,neg0=-0 1795338000000000001\n",
			encoded{points: 1}},
		{"escaping", []metrics.Point{{Measurement: `we"ird,m x=y`, Tags: tg("k ey", `c:\dir\x`, "q", `it's "q", a=b`), Time: -5, Fields: []metrics.Field{fl(`f=x "y",z`, 1)}}},
			`we"ird\,m\ x=y,k\ ey=c:\dir\x,q=it's\ "q"\,\ a\=b f\=x\ "y"\,z=1 -5` + "\n",
			encoded{points: 1}},
		{"unsorted tags are sorted", []metrics.Point{{Measurement: "m", Tags: tg("z", "1", "a", "2", "m", "3"), Fields: []metrics.Field{fl("v", 1)}}},
			"m,a=2,m=3,z=1 v=1 0\n", encoded{points: 1}},
		{"empty tag values are left out", []metrics.Point{{Measurement: "m", Tags: tg("a", "", "b", "x", "c", ""), Fields: []metrics.Field{fl("v", 1)}}},
			"m,b=x v=1 0\n", encoded{points: 1}},
		{"no tags", []metrics.Point{{Measurement: "m", Fields: []metrics.Field{fl("v", 1)}, Time: 7}},
			"m v=1 7\n", encoded{points: 1}},
		{"unrepresentable fields are left out", []metrics.Point{{Measurement: "m", Fields: []metrics.Field{
			fl("nan", math.NaN()), fl("v", 2), fl("inf", math.Inf(-1)),
			{Key: "u", Value: metrics.Value{Kind: metrics.Uint, U: math.MaxInt64 + 1}},
		}}}, "m v=2 0\n", encoded{points: 1, droppedFields: 3}},
		{"no field left", []metrics.Point{
			{Measurement: "m", Fields: []metrics.Field{fl("nan", math.NaN())}},
			{Measurement: "m", Fields: []metrics.Field{fl("v", 1)}, Time: 1},
		}, "m v=1 1\n", encoded{points: 1, droppedPoints: 1}},
		{"bad names drop the point", []metrics.Point{
			{Measurement: "#comment", Fields: []metrics.Field{fl("v", 1)}},
			{Measurement: "", Fields: []metrics.Field{fl("v", 1)}},
			{Measurement: "new\nline", Fields: []metrics.Field{fl("v", 1)}},
			{Measurement: "trailing\\", Fields: []metrics.Field{fl("v", 1)}},
			{Measurement: "escaped\\,comma", Fields: []metrics.Field{fl("v", 1)}},
			{Measurement: "bad\xffutf8", Fields: []metrics.Field{fl("v", 1)}},
			{Measurement: "m", Tags: tg("k", "tab\there"), Fields: []metrics.Field{fl("v", 1)}},
			{Measurement: "m", Tags: tg("k", `v\`), Fields: []metrics.Field{fl("v", 1)}},
			{Measurement: "m", Tags: tg("k", `a\=b`), Fields: []metrics.Field{fl("v", 1)}},
			{Measurement: "m", Tags: tg("k", "1", "k", "2"), Fields: []metrics.Field{fl("v", 1)}},
			{Measurement: "m", Fields: []metrics.Field{fl("", 1)}},
			{Measurement: "m", Fields: []metrics.Field{fl("v", 1), fl(`w\ `, 2)}},
			{Measurement: "ok#", Tags: tg("k", `a\b`), Fields: []metrics.Field{fl("v", 1)}, Time: 3},
		}, `ok#,k=a\b v=1 3` + "\n", encoded{points: 1, droppedPoints: 12}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, enc := appendPoints([]byte("prefix\n"), tc.pts)
			if d := cmp.Diff("prefix\n"+tc.want, string(b)); d != "" {
				t.Errorf("line protocol (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.enc, enc, cmp.AllowUnexported(encoded{})); d != "" {
				t.Errorf("counts (-want +got):\n%s", d)
			}
		})
	}
}

// FuzzAppendPoints encodes a point built from arbitrary strings and checks
// that it is either dropped or decodes back to itself (tags sorted, empty
// tags and unrepresentable fields left out).
func FuzzAppendPoints(f *testing.F) {
	f.Add("cpu", "node", "web-1", "usage", 12.5, int64(3), "a string", int64(1795338000000000000))
	f.Add(`we"ird,m x`, "k ey", `c:\dir\x`, `f=x "y"`, -0.0, int64(-1), "with\nnewline and \\ \"", int64(-1))
	f.Add("#c", "", "", "f", math.NaN(), int64(0), "", int64(0))
	f.Add("m\\", "k", "v\\", "f\\", math.Inf(1), int64(math.MaxInt64), "\\", int64(math.MinInt64))
	f.Fuzz(func(t *testing.T, m, tk, tv, fk string, fv float64, iv int64, sv string, ts int64) {
		in := metrics.Point{
			Measurement: m,
			Tags:        []metrics.Tag{{Key: "node", Value: "n1"}, {Key: tk, Value: tv}},
			Fields: []metrics.Field{
				fl(fk, fv),
				{Key: fk + "_i", Value: metrics.Value{Kind: metrics.Int, I: iv}},
				{Key: fk + "_s", Value: metrics.Value{Kind: metrics.String, S: sv}},
			},
			Time: ts,
		}
		b, enc := appendPoints(nil, []metrics.Point{in})
		if enc.points+enc.droppedPoints != 1 {
			t.Fatalf("counts %+v for one point", enc)
		}
		if enc.droppedPoints == 1 {
			if len(b) != 0 {
				t.Fatalf("dropped point left %q", b)
			}
			return
		}
		dec := lineprotocol.NewDecoderWithBytes(b)
		if !dec.Next() {
			t.Fatalf("no line in %q", b)
		}
		gotM, err := dec.Measurement()
		if err != nil {
			t.Fatalf("decoding %q: %v", b, err)
		}
		got := map[string]any{"measurement": string(gotM)}
		for {
			k, v, err := dec.NextTag()
			if err != nil {
				t.Fatalf("decoding %q: %v", b, err)
			}
			if k == nil {
				break
			}
			got["tag "+string(k)] = string(v)
		}
		for {
			k, v, err := dec.NextField()
			if err != nil {
				t.Fatalf("decoding %q: %v", b, err)
			}
			if k == nil {
				break
			}
			got["field "+string(k)] = v.Interface()
		}
		tm, err := dec.Time(lineprotocol.Nanosecond, time.Time{})
		if err != nil {
			t.Fatalf("decoding %q: %v", b, err)
		}
		got["time"] = tm.UnixNano()
		if dec.Next() {
			t.Fatalf("more than one line in %q", b)
		}

		want := map[string]any{"measurement": m, "tag node": "n1", "time": ts}
		if tv != "" {
			want["tag "+tk] = tv
		}
		if !math.IsNaN(fv) && !math.IsInf(fv, 0) {
			want["field "+fk] = fv
		}
		want["field "+fk+"_i"] = iv
		want["field "+fk+"_s"] = strings.ToValidUTF8(sv, "\uFFFD")
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("round trip of %q (-want +got):\n%s", b, d)
		}
	})
}
