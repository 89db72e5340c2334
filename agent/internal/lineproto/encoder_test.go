package lineproto

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vigilmon/vigil/sdk/metric"
)

func series(m string, tags []metric.Tag, fields ...metric.Field) metric.Series {
	return metric.Series{Measurement: m, Tags: tags, Fields: fields}
}

func tag(k, v string) metric.Tag { return metric.Tag{Key: k, Value: v} }

func field(k string, t metric.FieldType) metric.Field { return metric.Field{Key: k, Type: t} }

func TestEncode(t *testing.T) {
	agentTags := map[string]string{"site": "paris", "role": "web"}
	tests := []struct {
		name      string
		batch     metric.Batch
		want      string
		wantStats Stats
		wantErr   string
	}{
		{
			name: "every type",
			batch: metric.Batch{
				Series: []metric.Series{series("m", []metric.Tag{tag("host", "a")},
					field("f", metric.Float), field("i", metric.Int), field("u", metric.Uint), field("b", metric.Bool), field("s", metric.String))},
				PointSeries: []uint32{0, 0},
				Times:       []int64{1, -5},
				Floats:      []float64{1.5, 1e21},
				Ints:        []int64{-3, math.MaxInt64},
				Uints:       []uint64{7, math.MaxUint64},
				Bools:       []bool{true, false},
				Strings:     []string{`say "hi"`, "a\\b\nc"},
			},
			want: `m,host=a,node=n1,plugin=p,role=web,site=paris f=1.5,i=-3i,u=7i,b=true,s="say \"hi\"" 1` + "\n" +
				`m,host=a,node=n1,plugin=p,role=web,site=paris f=1e+21,i=9223372036854775807i,u=9223372036854775807i,b=false,s="a\\b\nc" -5` + "\n",
			wantStats: Stats{Points: 2},
		},
		{
			name: "escaping is the library's",
			batch: metric.Batch{
				Series:      []metric.Series{series("c p,u=", []metric.Tag{tag("a b", "c,d=e"), tag("ü", "日本")}, field("x y,z=", metric.Float))},
				PointSeries: []uint32{0},
				Times:       []int64{0},
				Floats:      []float64{2},
			},
			want:      `c\ p\,u=,a\ b=c\,d\=e,node=n1,plugin=p,role=web,site=paris,ü=日本 x\ y\,z\==2 0` + "\n",
			wantStats: Stats{Points: 1},
		},
		{
			name: "non-finite floats are dropped, then the point",
			batch: metric.Batch{
				Series:      []metric.Series{series("m", nil, field("a", metric.Float), field("b", metric.Float))},
				PointSeries: []uint32{0, 0, 0},
				Times:       []int64{1, 2, 3},
				Floats:      []float64{math.NaN(), 1, 2, math.Inf(1), math.Inf(-1), math.NaN()},
			},
			want:      "m,node=n1,plugin=p,role=web,site=paris b=1 1\nm,node=n1,plugin=p,role=web,site=paris a=2 2\n",
			wantStats: Stats{Points: 2, Dropped: 1, DroppedFields: 4},
			wantErr:   `dropping field "a" of series "m": value NaN cannot be written`,
		},
		{
			name: "invalid utf-8 string dropped",
			batch: metric.Batch{
				Series:      []metric.Series{series("m", nil, field("s", metric.String), field("n", metric.Int))},
				PointSeries: []uint32{0},
				Times:       []int64{1},
				Strings:     []string{"\xff"},
				Ints:        []int64{4},
			},
			want:      "m,node=n1,plugin=p,role=web,site=paris n=4i 1\n",
			wantStats: Stats{Points: 1, DroppedFields: 1},
			wantErr:   `dropping field "s" of series "m": invalid utf-8`,
		},
		{
			name: "series the library refuses are dropped, others kept",
			batch: metric.Batch{
				Series: []metric.Series{
					series(`bad\`, nil, field("v", metric.Float)),
					series("#comment", nil, field("v", metric.Float)),
					series("m", []metric.Tag{tag("b", "1"), tag("a", "2")}, field("v", metric.Float)),
					series("m", nil, field("v", metric.Float), field("v", metric.Int)),
					series("m", []metric.Tag{tag("k", "ctl\x01")}, field("v", metric.Float)),
					series("ok", nil, field("v", metric.Float)),
				},
				PointSeries: []uint32{0, 1, 2, 3, 4, 5},
				Times:       []int64{1, 2, 3, 4, 5, 6},
				Floats:      []float64{1, 2, 3, 4, 5, 6},
				Ints:        []int64{7},
			},
			want:      "ok,node=n1,plugin=p,role=web,site=paris v=6 6\n",
			wantStats: Stats{Points: 1, Dropped: 5},
			wantErr:   `dropping points of series "bad\\": invalid measurement`,
		},
		{
			name: "missing values",
			batch: metric.Batch{
				Series:      []metric.Series{series("m", nil, field("v", metric.Float))},
				PointSeries: []uint32{0, 0},
				Times:       []int64{1, 2},
				Floats:      []float64{1},
			},
			wantErr: "malformed batch: point 1 needs more float values than the batch has",
		},
		{
			name: "extra values",
			batch: metric.Batch{
				Series:      []metric.Series{series("m", nil, field("v", metric.Float))},
				PointSeries: []uint32{0},
				Times:       []int64{1},
				Floats:      []float64{1},
				Bools:       []bool{true},
			},
			wantErr: "malformed batch: points use 0 bool values but the batch has 1",
		},
		{
			name: "unknown series",
			batch: metric.Batch{
				Series:      []metric.Series{series("m", nil, field("v", metric.Float))},
				PointSeries: []uint32{0, 1},
				Times:       []int64{1, 2},
				Floats:      []float64{1, 2},
			},
			wantErr: "malformed batch: point 1 refers to series 1 of 1",
		},
		{
			name:    "missing timestamps",
			batch:   metric.Batch{Series: []metric.Series{series("m", nil, field("v", metric.Float))}, PointSeries: []uint32{0}, Floats: []float64{1}},
			wantErr: "malformed batch: 1 points but 0 timestamps",
		},
		{
			name:    "unknown field type",
			batch:   metric.Batch{Series: []metric.Series{series("m", nil, field("v", 9))}},
			wantErr: `malformed batch: series "m": field "v" has unknown type 9`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prefix := "previous\n"
			got, st, err := NewEncoder("n1", agentTags).Append([]byte(prefix), "p", &tc.batch)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if !strings.HasPrefix(gotErr, tc.wantErr) || (tc.wantErr == "") != (err == nil) {
				t.Errorf("error = %q, want prefix %q", gotErr, tc.wantErr)
			}
			if diff := cmp.Diff(prefix+tc.want, string(got)); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantStats, st); diff != "" {
				t.Errorf("stats (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTagMerge(t *testing.T) {
	tests := []struct {
		name      string
		node      string
		agentTags map[string]string
		own       []metric.Tag
		want      string
	}{
		{name: "agent tags added", node: "n", agentTags: map[string]string{"a": "1", "z": "2"}, own: []metric.Tag{tag("m", "x")},
			want: "m,a=1,m=x,node=n,plugin=p,z=2"},
		{name: "point's own tags beat agent tags", node: "n", agentTags: map[string]string{"site": "agent", "role": "web"}, own: []metric.Tag{tag("site", "own")},
			want: "m,node=n,plugin=p,role=web,site=own"},
		{name: "node and plugin beat the point's own", node: "n", own: []metric.Tag{tag("node", "spoof"), tag("plugin", "spoof")},
			want: "m,node=n,plugin=p"},
		{name: "node and plugin beat agent tags", node: "n", agentTags: map[string]string{"node": "x", "plugin": "y"},
			want: "m,node=n,plugin=p"},
		{name: "empty values are no tags", node: "n", agentTags: map[string]string{"a": "", "b": "agent"}, own: []metric.Tag{tag("b", ""), tag("c", "")},
			want: "m,b=agent,node=n,plugin=p"},
		{name: "empty node removes the tag", node: "", own: []metric.Tag{tag("node", "own")},
			want: "m,plugin=p"},
		{name: "keys around node and plugin", node: "n", agentTags: map[string]string{"nodf": "1", "pluginx": "2", "a": "3"}, own: []metric.Tag{tag("nod", "4"), tag("o", "5"), tag("zz", "6")},
			want: "m,a=3,nod=4,node=n,nodf=1,o=5,plugin=p,pluginx=2,zz=6"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := metric.Batch{Series: []metric.Series{series("m", tc.own, field("v", metric.Int))}, PointSeries: []uint32{0}, Times: []int64{1}, Ints: []int64{1}}
			got, _, err := NewEncoder(tc.node, tc.agentTags).Append(nil, "p", &b)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want+" v=1i 1\n", string(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestRandomBatches is the property test: random escaping-heavy batches
// decode to the modelled points and match the reference encoder byte for
// byte.
func TestRandomBatches(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		agentTags := map[string]string{}
		for range r.IntN(3) {
			agentTags[pick(r, nastyNames)] = pick(r, nastyNames)
		}
		node, plugin := pick(r, []string{"n1", "web 1", "", "nö,de"}), pick(r, []string{"p", "my plugin", "a=b"})
		b := randomBatch(r)
		t.Run("", func(t *testing.T) {
			checkRoundTrip(t, node, agentTags, plugin, b)
		})
		if t.Failed() {
			t.Fatalf("iteration %d", i)
		}
	}
}

func TestEncoderReuse(t *testing.T) {
	// A second batch with other series must not see the first's cache.
	r := rand.New(rand.NewPCG(3, 4))
	enc := NewEncoder("n", map[string]string{"site": "x"})
	var got, want []byte
	for range 50 {
		b := randomBatch(r)
		got, _, _ = enc.Append(got, "p", b)
		want = append(want, referenceEncode("n", map[string]string{"site": "x"}, "p", b)...)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestAppendDoesNotAllocate(t *testing.T) {
	b := benchBatch(10000, 50)
	enc := NewEncoder("node-1", map[string]string{"site": "paris", "role": "web"})
	buf, _, err := enc.Append(nil, "system", b)
	if err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(10, func() {
		buf, _, _ = enc.Append(buf[:0], "system", b)
	})
	if allocs != 0 {
		t.Errorf("Append of a 10k-point batch allocated %v times, want 0", allocs)
	}
}
