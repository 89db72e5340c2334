package ingest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/registry/internal/metrics"
)

// outcome is decode's result in a form tests compare.
type outcome struct {
	Points   []string // rendered by render
	Errs     []string // line:column: reason
	Lines    int
	Rejected int
	Flagged  int
	Nodes    []string
}

// render writes a point as `m k=v,k=v f=v,f=v time` with typed values.
func render(p metrics.Point) string {
	var b strings.Builder
	b.WriteString(p.Measurement)
	for i, t := range p.Tags {
		if i == 0 {
			b.WriteByte(' ')
		} else {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%s", t.Key, t.Value)
	}
	for i, f := range p.Fields {
		if i == 0 {
			b.WriteByte(' ')
		} else {
			b.WriteByte(',')
		}
		v := f.Value
		switch v.Kind {
		case metrics.Float:
			fmt.Fprintf(&b, "%s=%g", f.Key, v.F)
		case metrics.Int:
			fmt.Fprintf(&b, "%s=%di", f.Key, v.I)
		case metrics.Uint:
			fmt.Fprintf(&b, "%s=%du", f.Key, v.U)
		case metrics.Bool:
			fmt.Fprintf(&b, "%s=%t", f.Key, v.B)
		case metrics.String:
			fmt.Fprintf(&b, "%s=%q", f.Key, v.S)
		}
	}
	fmt.Fprintf(&b, " %d", p.Time)
	return b.String()
}

func runDecode(t *testing.T, body string, r rules) outcome {
	t.Helper()
	var d decoded
	if err := decode(context.Background(), []byte(body), r, &d); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return summarize(&d)
}

func summarize(d *decoded) outcome {
	o := outcome{Lines: d.lines, Rejected: d.rejected, Flagged: d.flagged, Nodes: d.nodes}
	for _, p := range d.points {
		o.Points = append(o.Points, render(p))
	}
	for _, e := range d.errs {
		o.Errs = append(o.Errs, e.String())
	}
	return o
}

// fakeApprovals judges plugins from a table: "ok", "no-inventory", or
// anything else as the reason it is unapproved; missing plugins are
// unapproved.
func fakeApprovals(table map[string]string) approveFunc {
	return func(_ context.Context, node, plugin string) (verdict, string, error) {
		switch why, ok := table[plugin]; {
		case !ok:
			return unapproved, fmt.Sprintf("plugin %q is not in node %q's inventory", plugin, node), nil
		case why == "ok":
			return approved, "", nil
		case why == "no-inventory":
			return noInventory, "no inventory", nil
		default:
			return unapproved, why, nil
		}
	}
}

func TestDecode(t *testing.T) {
	agent := rules{node: "web-1", unit: 1, now: 42}
	tests := []struct {
		name string
		body string
		r    rules
		want outcome
	}{{
		name: "good lines get the token's node",
		body: "cpu,host=a usage=1.5,count=3i,up=true,n=7u,msg=\"hi\" 100\nmem free=2 200\n",
		r:    agent,
		want: outcome{Lines: 2, Nodes: []string{"web-1"}, Points: []string{
			`cpu host=a,node=web-1 usage=1.5,count=3i,up=true,n=7u,msg="hi" 100`,
			`mem node=web-1 free=2 200`,
		}},
	}, {
		name: "no timestamp takes the request's time; blank and comment lines are not lines",
		body: "# a comment\n\ncpu v=1\n   \n",
		r:    agent,
		want: outcome{Lines: 1, Nodes: []string{"web-1"}, Points: []string{`cpu node=web-1 v=1 42`}},
	}, {
		name: "partial write: bad lines at their line and column, good lines kept",
		body: "cpu v=1 1\ncpu,host= v=1 2\ncpu v=1 3\ncpu v=abc 4\ncpu v=1 5x\ncpu\n",
		r:    agent,
		want: outcome{Lines: 6, Rejected: 4, Nodes: []string{"web-1"},
			Points: []string{`cpu node=web-1 v=1 1`, `cpu node=web-1 v=1 3`},
			Errs: []string{
				`2:10: expected tag value after tag key "host", but none found`,
				`4:7: field value has unrecognized type`,
				`5:9: invalid timestamp ("5x")`,
				`6:4: expected tag key or field but found '\n' instead`,
			}},
	}, {
		name: "a point for another node is rejected at its node tag",
		body: "cpu v=1 1\ncpu,host=a,node=web-2 v=1 2\ncpu,node=web-1 v=2 3\n",
		r:    agent,
		want: outcome{Lines: 3, Rejected: 1, Nodes: []string{"web-1"},
			Points: []string{`cpu node=web-1 v=1 1`, `cpu node=web-1 v=2 3`},
			Errs:   []string{`2:12: point for node "web-2" but the token is for node "web-1"`}},
	}, {
		name: "a token with no node needs a node tag",
		body: "cpu,node=a v=1 1\ncpu v=1 2\ncpu,node=b v=1 3\n",
		r:    rules{unit: 1},
		want: outcome{Lines: 3, Rejected: 1, Nodes: []string{"a", "b"},
			Points: []string{`cpu node=a v=1 1`, `cpu node=b v=1 3`},
			Errs:   []string{`2:1: point has no node tag and the token is bound to no node: add a node tag`}},
	}, {
		name: "unsorted tags are sorted; duplicates rejected; duplicate fields keep the last",
		body: "cpu,z=1,a=2 v=1,w=2,v=3 1\ncpu,a=1,a=2 v=1 2\n",
		r:    agent,
		want: outcome{Lines: 2, Rejected: 1, Nodes: []string{"web-1"},
			Points: []string{`cpu a=2,node=web-1,z=1 w=2,v=3 1`},
			Errs:   []string{`2:1: duplicate tag "a"`}},
	}, {
		name: "escapes and a string spanning lines",
		body: "my\\ cpu,ho\\,st=a\\ b v=\"x\\\"y\" 1\nlog msg=\"one\ntwo\" 2\nlog v=1 3x\n",
		r:    agent,
		want: outcome{Lines: 3, Rejected: 1, Nodes: []string{"web-1"},
			Points: []string{`my cpu ho,st=a b,node=web-1 v="x\"y" 1`, `log node=web-1 msg="one\ntwo" 2`},
			Errs:   []string{`4:9: invalid timestamp ("3x")`}},
	}, {
		name: "precision",
		body: "cpu v=1 3\ncpu v=1 -2\n",
		r:    rules{node: "n", unit: 1e9},
		want: outcome{Lines: 2, Nodes: []string{"n"}, Points: []string{`cpu node=n v=1 3000000000`, `cpu node=n v=1 -2000000000`}},
	}, {
		name: "a timestamp out of range for the precision",
		body: "cpu v=1 9223372036854775807\ncpu v=1 9223372036854\n",
		r:    rules{node: "n", unit: 1e6},
		want: outcome{Lines: 2, Rejected: 1, Nodes: []string{"n"}, Points: []string{`cpu node=n v=1 9223372036854000000`},
			Errs: []string{`1:9: timestamp "9223372036854775807" is out of range for precision ms`}},
	}, {
		name: "NaN and infinities are refused",
		body: "cpu v=NaN 1\ncpu v=1e400 2\n",
		r:    agent,
		want: outcome{Lines: 2, Rejected: 2, Errs: []string{
			`1:7: field value has unrecognized type`,
			`2:7: cannot parse value for field key "v": line-protocol value out of range`,
		}},
	}, {
		name: "unapproved plugins are flagged, approved and built-in ones not",
		body: "a,plugin=good v=1 1\nb,plugin=bad v=1 2\nc,plugin=vigil v=1 3\nd,plugin=exec v=1 4\ne,plugin=bad,unapproved=false v=1 5\nf,plugin=new v=1 6\n",
		r:    rules{node: "n", unit: 1, approve: fakeApprovals(map[string]string{"good": "ok", "new": "no-inventory"})},
		want: outcome{Lines: 6, Flagged: 3, Nodes: []string{"n"}, Points: []string{
			`a node=n,plugin=good v=1 1`,
			`b node=n,plugin=bad,unapproved=true v=1 2`,
			`c node=n,plugin=vigil v=1 3`,
			`d node=n,plugin=exec v=1 4`,
			`e node=n,plugin=bad,unapproved=true v=1 5`,
			`f node=n,plugin=new,unapproved=true v=1 6`,
		}},
	}, {
		name: "unapproved plugins rejected, except when the node has no inventory yet",
		body: "a,plugin=good v=1 1\nb,host=h,plugin=bad v=1 2\nf,plugin=new v=1 6\n",
		r:    rules{node: "n", unit: 1, reject: true, approve: fakeApprovals(map[string]string{"good": "ok", "new": "no-inventory", "bad": "plugin \"bad\" 1.0.0 is rejected, not an approved release"})},
		want: outcome{Lines: 3, Rejected: 1, Flagged: 1, Nodes: []string{"n"},
			Points: []string{`a node=n,plugin=good v=1 1`, `f node=n,plugin=new,unapproved=true v=1 6`},
			Errs:   []string{`2:10: plugin "bad" 1.0.0 is rejected, not an approved release`}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runDecode(t, tt.body, tt.r)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decode (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeListsAtMostMaxListed(t *testing.T) {
	body := strings.Repeat("bad\n", maxListed+20) + "cpu v=1 1\n"
	got := runDecode(t, body, rules{node: "n", unit: 1})
	if got.Rejected != maxListed+20 || len(got.Errs) != maxListed || len(got.Points) != 1 || got.Lines != maxListed+21 {
		t.Errorf("rejected %d, listed %d, points %d, lines %d; want %d, %d, 1, %d",
			got.Rejected, len(got.Errs), len(got.Points), got.Lines, maxListed+20, maxListed, maxListed+21)
	}
}

func TestDecodeApprovalErrorAborts(t *testing.T) {
	boom := errors.New("catalog down")
	r := rules{node: "n", unit: 1, approve: func(context.Context, string, string) (verdict, string, error) { return 0, "", boom }}
	var d decoded
	if err := decode(context.Background(), []byte("cpu,plugin=x v=1\n"), r, &d); !errors.Is(err, boom) {
		t.Fatalf("decode: %v, want %v", err, boom)
	}
}

func TestDecodeReusesPooledArrays(t *testing.T) {
	var d decoded
	r := rules{node: "n", unit: 1}
	if err := decode(context.Background(), []byte("cpu,a=1 v=1 1\n"), r, &d); err != nil {
		t.Fatal(err)
	}
	d.reset()
	if err := decode(context.Background(), []byte("mem,b=2 w=2 2\n"), r, &d); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"mem b=2,node=n w=2 2"}, summarize(&d).Points); diff != "" {
		t.Errorf("second request (-want +got):\n%s", diff)
	}
}

// TestResetDropsTheBody: once reset, a pooled decoded holds nothing of the
// last body anywhere in its arrays, up to their capacity, whichever path
// decoded it and however its lines were cut short: a duplicate field
// (fields shortened), a rejected line (tags and fields dropped), a plain
// body that turns out not to be (decodePlain gives up half way).
func TestResetDropsTheBody(t *testing.T) {
	r := rules{node: "web-1", unit: 1}
	var d decoded
	for _, body := range []string{
		strings.Repeat("cpu,node=web-1,plugin=p a=1,b=2,c=3 1\n", 50),
		strings.Repeat("cpu,host=h a=1,a=2,b=3 1\n", 50),
		"cpu,host=h a=1 1\nbad line\ncpu,b=1,a=2 v=1 2\ncpu v=1 NaN\n",
		strings.Repeat("cpu,node=web-1 a=1,b=2 1\n", 30) + "cpu,node=web-1 a=1,a=2 2\n",
	} {
		if err := decode(context.Background(), []byte(body), r, &d); err != nil {
			t.Fatal(err)
		}
		d.reset()
		if !isReset(&d) {
			t.Fatalf("after %q: not reset: %+v", body, summarize(&d))
		}
		for i, p := range d.points[:cap(d.points)] {
			if p.Measurement != "" || p.Tags != nil || p.Fields != nil || p.Time != 0 {
				t.Fatalf("after %q: points[%d] past len holds %+v", body, i, p)
			}
		}
		for i, tg := range d.tags[:cap(d.tags)] {
			if tg != (metrics.Tag{}) {
				t.Fatalf("after %q: tags[%d] past len holds %+v", body, i, tg)
			}
		}
		for i, f := range d.fields[:cap(d.fields)] {
			if f != (metrics.Field{}) {
				t.Fatalf("after %q: fields[%d] past len holds %+v", body, i, f)
			}
		}
		for i, n := range d.nodes[:cap(d.nodes)] {
			if n != "" {
				t.Fatalf("after %q: nodes[%d] past len holds %q", body, i, n)
			}
		}
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		unit int64
		want int64
		ok   bool
	}{
		{"0", 1, 0, true},
		{"9223372036854775807", 1, math.MaxInt64, true},
		{"9223372036854775808", 1, 0, false},
		{"-9223372036854775808", 1, math.MinInt64, true},
		{"-9223372036854775809", 1, 0, false},
		{"9223372036", 1e9, 9223372036e9, true},
		{"9223372037", 1e9, 0, false},
		{"-9223372036", 1e9, -9223372036e9, true},
		{"153722867", 60e9, 153722867 * 60e9, true},
		{"99999999999999999999999", 1, 0, false},
		{"-", 1, 0, false},
		{"1-2", 1, 0, false},
	}
	for _, tt := range tests {
		got, ok := parseTime([]byte(tt.in), tt.unit)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseTime(%q, %d) = %d, %t; want %d, %t", tt.in, tt.unit, got, ok, tt.want, tt.ok)
		}
	}
}

func TestCursor(t *testing.T) {
	body := []byte("ab\ncd\n\nefg")
	c := cursor{body: body, line: 1}
	tests := []struct{ off, line, col int }{
		{0, 1, 1}, {4, 2, 2}, {7, 4, 1}, {9, 4, 3}, {1, 1, 2}, {6, 3, 1}, {-1, 3, 1},
	}
	for _, tt := range tests {
		line, col := c.at(tt.off)
		if line != tt.line || col != tt.col {
			t.Errorf("at(%d) = %d:%d, want %d:%d", tt.off, line, col, tt.line, tt.col)
		}
	}
}
