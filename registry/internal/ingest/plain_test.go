package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// plainAgent is an agent's batch: node and plugin tags, tags sorted,
// every kind of value InfluxDB 1.x takes, nanosecond timestamps.
const plainAgent = "cpu,cpu=cpu0,node=web-1,plugin=system usage_user=12.5,usage_system=0.25,procs=412i 1795000000000000000\n" +
	"mem,node=web-1,plugin=system used=1e+06,free=-3.5E-2,ok=true,name=\"a b,c=d\" 1795000000000000001\n" +
	"promise,node=web-1,plugin=vigil,promise=disk status=0i,message=\"ok\",duration_ms=1.5,anomaly=false 1795000000000000002\n"

// plainRules are the rules of an agent's request, with approvals judged
// from a table.
func plainRules() rules {
	return rules{node: "web-1", unit: 1, now: 1e18,
		approve: fakeApprovals(map[string]string{"system": "ok", "new": "no-inventory", "rogue": "unapproved"})}
}

// TestDecodePlainAgentBatch: an agent's batch is decoded by the fast path
// into its points, whose strings survive the body being overwritten (the
// body is a pooled buffer).
func TestDecodePlainAgentBatch(t *testing.T) {
	body := []byte(plainAgent)
	var d decoded
	ok, err := decodePlain(context.Background(), body, plainRules(), &d)
	if err != nil || !ok {
		t.Fatalf("decodePlain = %v, %v; want true, nil", ok, err)
	}
	for i := range body {
		body[i] = 'X'
	}
	want := outcome{Lines: 3, Nodes: []string{"web-1"}, Points: []string{
		`cpu cpu=cpu0,node=web-1,plugin=system usage_user=12.5,usage_system=0.25,procs=412i 1795000000000000000`,
		`mem node=web-1,plugin=system used=1e+06,free=-0.035,ok=true,name="a b,c=d" 1795000000000000001`,
		`promise node=web-1,plugin=vigil,promise=disk status=0i,message="ok",duration_ms=1.5,anomaly=false 1795000000000000002`,
	}}
	if diff := cmp.Diff(want, summarize(&d)); diff != "" {
		t.Errorf("decodePlain (-want +got):\n%s", diff)
	}
	if !d.verbatim {
		t.Error("verbatim = false, want true")
	}
}

// TestDecodePlain: plain bodies are taken by the fast path and decode to
// exactly what decodeV2 makes of them; a body with any line not plain, or
// any point that decodeV2 would change, flag or reject, is left to
// decodeV2 with d reset.
func TestDecodePlain(t *testing.T) {
	admin := plainRules()
	admin.node = ""
	rejecting := plainRules()
	rejecting.reject = true
	noApprovals := plainRules()
	noApprovals.approve = nil
	seconds := plainRules()
	seconds.unit = 1e9
	var manyFields strings.Builder
	manyFields.WriteString("m,node=web-1 ")
	for i := range 20 {
		if i > 0 {
			manyFields.WriteByte(',')
		}
		fmt.Fprintf(&manyFields, "f%c=%di", 'z'-i, i)
	}
	manyFields.WriteString(" 5\n")

	for _, tc := range []struct {
		name string
		body string
		r    rules
		want bool
	}{
		{"an agent's batch", plainAgent, plainRules(), true},
		{"no newline at the end", "cpu,node=web-1 v=1 5", plainRules(), true},
		{"every bool form", "b,node=web-1 a=t,b=T,c=true,d=True,e=TRUE,f=f,g=F,h=false,i=False,j=FALSE 5\n", plainRules(), true},
		{"negative, zero and extreme integers", "i,node=web-1 a=-5i,b=0i,c=9223372036854775807i,d=-9223372036854775808i,e=-0i,f=007i 5\n", plainRules(), true},
		{"floats in every plain form", "f,node=web-1 a=0,b=-0,c=1.5,d=-2.25e-3,e=1E9,f=1e+300,g=4.9e-324,h=1e-400 5\n", plainRules(), true},
		{"an empty string and one full of separators", "s,node=web-1 a=\"\",b=\" ,= #\t\x01\" 5\n", plainRules(), true},
		{"an equals sign and a quote in the measurement", "a=b\",node=web-1 v=1 5\n", plainRules(), true},
		{"quotes and hashes in keys and values", "m,\"k=#v\",node=web-1 #f\"=1 5\n", plainRules(), true},
		{"UTF-8 names", "températures,node=web-1,pièce=salon°C valeur=20.5 5\n", plainRules(), true},
		{"negative and extreme timestamps", "m,node=web-1 v=1 -9223372036854775808\nm,node=web-1 v=1 9223372036854775807\nm,node=web-1 v=1 -0\n", plainRules(), true},
		{"an admin's points for several nodes", "a,node=n1 v=1 1\nb,node=n2 v=1 2\nc,node=n1 v=1 3\n", admin, true},
		{"built-in plugins are not judged", "a,node=web-1,plugin=vigil v=1 1\nb,node=web-1,plugin=exec v=1 2\n", plainRules(), true},
		{"no approval check", "a,node=web-1,plugin=rogue v=1 1\n", noApprovals, true},
		{"more than 16 fields come out as decodeV2 orders them", manyFields.String(), plainRules(), true},

		{"another precision", plainAgent, seconds, false},
		{"an empty body", "", plainRules(), false},
		{"an escape", "cpu,node=web-1,path=a\\ b v=1 5\n", plainRules(), false},
		{"a CR", "cpu,node=web-1 v=1 5\r\n", plainRules(), false},
		{"invalid UTF-8", "cpu,node=web-1 v=\"\xff\" 5\n", plainRules(), false},
		{"a comment", "# hello\ncpu,node=web-1 v=1 5\n", plainRules(), false},
		{"a measurement starting with a hash", "#cpu,node=web-1 v=1 5\n", plainRules(), false},
		{"a blank line between", "cpu,node=web-1 v=1 5\n\ncpu,node=web-1 v=2 6\n", plainRules(), false},
		{"a blank line at the end", "cpu,node=web-1 v=1 5\n\n", plainRules(), false},
		{"leading spaces", " cpu,node=web-1 v=1 5\n", plainRules(), false},
		{"two spaces before the fields", "cpu,node=web-1  v=1 5\n", plainRules(), false},
		{"two spaces before the timestamp", "cpu,node=web-1 v=1  5\n", plainRules(), false},
		{"trailing spaces", "cpu,node=web-1 v=1 5 \n", plainRules(), false},
		{"no measurement", ",node=web-1 v=1 5\n", plainRules(), false},
		{"a control byte in the measurement", "c\tpu,node=web-1 v=1 5\n", plainRules(), false},
		{"an empty tag key", "cpu,=a,node=web-1 v=1 5\n", plainRules(), false},
		{"an empty tag value", "cpu,a=,node=web-1 v=1 5\n", plainRules(), false},
		{"an equals sign in a tag value", "cpu,node=web-1,q=a=b v=1 5\n", plainRules(), false},
		{"tags unsorted", "cpu,plugin=system,node=web-1 v=1 5\n", plainRules(), false},
		{"a duplicate tag", "cpu,node=web-1,node=web-1 v=1 5\n", plainRules(), false},
		{"no fields", "cpu,node=web-1 5\n", plainRules(), false},
		{"an empty field key", "cpu,node=web-1 =1 5\n", plainRules(), false},
		{"a duplicate field", "cpu,node=web-1 v=1,v=2 5\n", plainRules(), false},
		{"an empty field value", "cpu,node=web-1 v=,w=1 5\n", plainRules(), false},
		{"an unsigned integer", "cpu,node=web-1 v=1u 5\n", plainRules(), false},
		{"an integer out of range", "cpu,node=web-1 v=9223372036854775808i 5\n", plainRules(), false},
		{"an integer with a plus", "cpu,node=web-1 v=+1i 5\n", plainRules(), false},
		{"a float integer", "cpu,node=web-1 v=1.5i 5\n", plainRules(), false},
		{"a hexadecimal float", "cpu,node=web-1 v=0x1p-2 5\n", plainRules(), false},
		{"a float starting with a dot", "cpu,node=web-1 v=.5 5\n", plainRules(), false},
		{"a float ending with a dot", "cpu,node=web-1 v=5. 5\n", plainRules(), false},
		{"an exponent without digits", "cpu,node=web-1 v=1e 5\n", plainRules(), false},
		{"a float out of range", "cpu,node=web-1 v=1e400 5\n", plainRules(), false},
		{"not a number", "cpu,node=web-1 v=NaN 5\n", plainRules(), false},
		{"a bool in no form", "cpu,node=web-1 v=yes,w=tRUE 5\n", plainRules(), false},
		{"a string holding a newline", "cpu,node=web-1 v=\"a\nb\" 5\n", plainRules(), false},
		{"an unterminated string", "cpu,node=web-1 v=\"ab 5\n", plainRules(), false},
		{"a string not followed by a separator", "cpu,node=web-1 v=\"ab\"c 5\n", plainRules(), false},
		{"no timestamp", "cpu,node=web-1 v=1\n", plainRules(), false},
		{"no timestamp at the end", "cpu,node=web-1 v=1", plainRules(), false},
		{"a bad timestamp", "cpu,node=web-1 v=1 5x\n", plainRules(), false},
		{"a bare minus timestamp", "cpu,node=web-1 v=1 -\n", plainRules(), false},
		{"a timestamp out of range", "cpu,node=web-1 v=1 9223372036854775808\n", plainRules(), false},
		{"the node tag missing", "cpu,plugin=system v=1 5\n", plainRules(), false},
		{"the node tag missing for an admin", "cpu,plugin=system v=1 5\n", admin, false},
		{"another node's point", "cpu,node=web-2 v=1 5\n", plainRules(), false},
		{"an unapproved plugin flagged", "cpu,node=web-1,plugin=rogue v=1 5\n", plainRules(), false},
		{"an unapproved plugin rejected", "cpu,node=web-1,plugin=rogue v=1 5\n", rejecting, false},
		{"a plugin of a node with no inventory", "cpu,node=web-1,plugin=new v=1 5\n", plainRules(), false},
		{"a bad line after good ones", "cpu,node=web-1 v=1 5\ncpu,node=web-1,plugin=system v=2 6\ncpu,node=web-1 v= 7\n", plainRules(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var fast, slow decoded
			ok, err := decodePlain(context.Background(), []byte(tc.body), tc.r, &fast)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tc.want {
				t.Fatalf("decodePlain = %v, want %v", ok, tc.want)
			}
			if !ok {
				if !isReset(&fast) {
					t.Errorf("decodePlain returned false without resetting d: %+v", summarize(&fast))
				}
				return
			}
			if err := decodeV2(context.Background(), []byte(tc.body), tc.r, &slow); err != nil {
				t.Fatal(err)
			}
			if diff := diffDecoded(&slow, &fast); diff != "" {
				t.Errorf("decodePlain differs from decodeV2 (-v2 +plain):\n%s", diff)
			}
		})
	}
}

// isReset reports whether d holds nothing, as reset leaves it.
func isReset(d *decoded) bool {
	return len(d.points)+len(d.tags)+len(d.fields)+len(d.nodes)+len(d.errs)+d.lines+d.rejected+d.flagged == 0 && !d.verbatim
}

// diffDecoded compares two decode results, as far as their users see.
func diffDecoded(want, got *decoded) string {
	type shape struct {
		Outcome          outcome
		Verbatim         bool
		Tags, Fields     int
		TagCaps, FldCaps []int
	}
	shapeOf := func(d *decoded) shape {
		s := shape{Outcome: summarize(d), Verbatim: d.verbatim, Tags: len(d.tags), Fields: len(d.fields)}
		for _, p := range d.points {
			s.TagCaps = append(s.TagCaps, cap(p.Tags))
			s.FldCaps = append(s.FldCaps, cap(p.Fields))
		}
		return s
	}
	if diff := cmp.Diff(shapeOf(want), shapeOf(got)); diff != "" {
		return diff
	}
	return cmp.Diff(want.points, got.points) // exact floats, -0 included
}

func TestDecodePlainApprovalErrorAborts(t *testing.T) {
	boom := errors.New("catalog down")
	r := rules{node: "n", unit: 1, approve: func(context.Context, string, string) (verdict, string, error) { return 0, "", boom }}
	var d decoded
	if ok, err := decodePlain(context.Background(), []byte("cpu,node=n,plugin=x v=1 1\n"), r, &d); ok || !errors.Is(err, boom) {
		t.Fatalf("decodePlain = %v, %v; want false, %v", ok, err, boom)
	}
}

// TestDecodePlainCachesVerdicts: as decodeV2, the approval check is asked
// once per run of points with the same node and plugin.
func TestDecodePlainCachesVerdicts(t *testing.T) {
	var asked []string
	r := rules{node: "", unit: 1, approve: func(_ context.Context, node, plugin string) (verdict, string, error) {
		asked = append(asked, node+"/"+plugin)
		return approved, "", nil
	}}
	body := "a,node=n,plugin=p v=1 1\nb,node=n,plugin=p v=1 2\nc,node=m,plugin=p v=1 3\nd,node=m,plugin=q v=1 4\ne,node=m,plugin=q v=1 5\n"
	var d decoded
	if ok, err := decodePlain(context.Background(), []byte(body), r, &d); !ok || err != nil {
		t.Fatalf("decodePlain = %v, %v", ok, err)
	}
	if diff := cmp.Diff([]string{"n/p", "m/p", "m/q"}, asked); diff != "" {
		t.Errorf("approvals asked (-want +got):\n%s", diff)
	}
}

// FuzzPlainMatchesDecode: whenever decodePlain takes a body, it must
// produce exactly what decodeV2 does; when it does not, d must be reset;
// when it fails on the approval check, decodeV2 must fail the same way.
// mode is FuzzDecode's, plus bit 4: the approval check fails for plugin
// "boom".
func FuzzPlainMatchesDecode(f *testing.F) {
	seeds := []string{
		// FuzzDecode's
		"cpu,host=a usage=1.5,count=3i,up=true,n=7u,msg=\"hi\" 100\n",
		"cpu,host=a,node=other v=1\ncpu,node=web-1 v=2 3\n",
		"# comment\n\n  \ncpu v=1\r\nmem v=2\r\n",
		"my\\ cpu,ho\\,st=a\\ b v=\"x\\\"y\" 1\nlog msg=\"one\ntwo\" 2\nlog v=1 3x\n",
		"cpu,z=1,a=2,a=3 v=1,v=2 1\ncpu,plugin=x v=1\ncpu,plugin=vigil,unapproved=no v=1\n",
		"cpu v=NaN\ncpu v=1e400\ncpu v=1 9223372036854775807\ncpu v=1 -9223372036854775808\n",
		"cpu,host= v=1\ncpu\n,\n=\n\\\n\"\n#cpu v=1\n",
		"\xff\xfe v=1\ncpu \xff=1\ncpu v=\"\xff\"\n",
		"cpu,cpu=cpu0,node=web-1,plugin=good a=1.5,b=-2e+06,c=3i,d=t,e=\"x y\" 100\nmem,node=web-1 v=1 101",
		// plain agent-like batches
		plainAgent,
		"cpu,cpu=cpu0,node=web-1,plugin=good usage=1.5,n=3i 1\nmem,node=web-1,plugin=good free=2.5e+09,ok=T,s=\"\" 2",
		"a,node=n1,plugin=vigil v=1 1\nb,node=n2,plugin=exec v=-0 2\nc,node=n1,plugin=new v=1 3\n",
		"f,node=web-1 a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,i=9,j=10,k=11,l=12,m=13,n=14,o=15,p=16,q=17,a=18 9\n",
		"m,node=web-1,plugin=boom v=1 1\n",
		"m,node=web-1 i=9223372036854775807i,j=-9223372036854775808i,f=1e308,g=1e-400 -9223372036854775808\n",
	}
	// near-plain variants: each byte of an agent's line changed once to a
	// separator or a character that matters somewhere
	line := "cpu,node=web-1,plugin=good a=1.5,b=2i,c=t,d=\"x\" 10\n"
	for i := range line {
		for _, c := range []byte{' ', ',', '=', '"', '\n', '#', '-', 'e', 'i', 'u', '.'} {
			b := []byte(line + line)
			b[i] = c
			seeds = append(seeds, string(b))
		}
	}
	for _, seed := range seeds {
		for _, mode := range []byte{0, 1, 2, 3, 4, 16, 17} {
			f.Add([]byte(seed), mode)
		}
	}
	boom := errors.New("catalog down")
	f.Fuzz(func(t *testing.T, body []byte, mode byte) {
		r := rules{node: "web-1", unit: [4]int64{1, 1e3, 1e6, 60e9}[mode>>2&3], now: 1e18}
		if mode&1 != 0 {
			r.node = ""
		}
		r.reject = mode&2 != 0
		approve := fakeApprovals(map[string]string{"good": "ok", "new": "no-inventory"})
		r.approve = approve
		if mode&16 != 0 {
			r.approve = func(ctx context.Context, node, plugin string) (verdict, string, error) {
				if plugin == "boom" {
					return 0, "", boom
				}
				return approve(ctx, node, plugin)
			}
		}
		own := bytes.Clone(body) // overwritten below, as a pooled body is
		var fast, slow decoded
		ok, errFast := decodePlain(context.Background(), own, r, &fast)
		errSlow := decodeV2(context.Background(), body, r, &slow)
		switch {
		case errFast != nil:
			if ok || !errors.Is(errSlow, errFast) {
				t.Fatalf("decodePlain = %v, %v; decodeV2: %v", ok, errFast, errSlow)
			}
			return
		case !ok:
			if !isReset(&fast) {
				t.Fatalf("decodePlain returned false without resetting d: %+v", summarize(&fast))
			}
			return
		case errSlow != nil:
			t.Fatalf("decodePlain took a body on which decodeV2 fails: %v", errSlow)
		}
		for i := range own {
			own[i] = 0
		}
		if diff := diffDecoded(&slow, &fast); diff != "" {
			t.Errorf("decodePlain differs from decodeV2 on %q (-v2 +plain):\n%s", body, diff)
		}
	})
}

// TestDecodeTakesPlainPath: decode takes an agent's batch by the fast path,
// which allocates only the body's string copy (decodeV2 also allocates its
// decoder).
func TestDecodeTakesPlainPath(t *testing.T) {
	body, r := []byte(plainAgent), plainRules()
	var d decoded
	if err := decode(context.Background(), body, r, &d); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(20, func() {
		d.reset()
		if err := decode(context.Background(), body, r, &d); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 1 {
		t.Errorf("decode of an agent's batch: %v allocations, want 1 (the fast path's string copy)", allocs)
	}
}
