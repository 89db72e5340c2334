package ingest

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/registry/internal/metrics"
)

// TestVerbatim: a body goes to a metrics.LineWriter as is only when each
// of its lines is already in the plain form, so that InfluxDB reads from
// it exactly the points decode made; anything decode or InfluxDB 1.x would
// read or write differently sends the points through Write.
func TestVerbatim(t *testing.T) {
	const agent = "cpu,cpu=cpu0,node=web-1,plugin=system usage_user=12.5,usage_system=0.25,procs=412i 1795000000000000000\n" +
		"mem,node=web-1,plugin=system used=1e+06,free=-3.5E-2,ok=true,name=\"a b,c=d\" 1795000000000000000\n"
	for _, tc := range []struct {
		name string
		body string
		unit int64
		want bool
	}{
		{"an agent's batch", agent, 1, true},
		{"no newline at the end", "cpu,node=web-1 v=1 5", 1, true},
		{"every bool form", "b,node=web-1 a=t,b=T,c=true,d=True,e=TRUE,f=f,g=F,h=false,i=False,j=FALSE 5\n", 1, true},
		{"negative, zero and large integers", "i,node=web-1 a=-5i,b=0i,c=9223372036854775807i 5\n", 1, true},
		{"an equals sign in the measurement", "a=b,node=web-1 v=1 5\n", 1, true},
		{"an empty string", "s,node=web-1 v=\"\" 5\n", 1, true},

		{"another precision", agent, 1e6, false},
		{"no timestamp", "cpu,node=web-1 v=1\n", 1, false},
		{"node tag added", "cpu,plugin=system v=1 5\n", 1, false},
		{"tags unsorted", "cpu,plugin=system,node=web-1 v=1 5\n", 1, false},
		{"a duplicate field", "cpu,node=web-1 v=1,v=2 5\n", 1, false},
		{"an unsigned integer", "cpu,node=web-1 v=1u 5\n", 1, false},
		{"a hexadecimal float", "cpu,node=web-1 v=0x1p-2 5\n", 1, false},
		{"a float starting with a dot", "cpu,node=web-1 v=.5 5\n", 1, false},
		{"a float ending with a dot", "cpu,node=web-1 v=5. 5\n", 1, false},
		{"an exponent without digits", "cpu,node=web-1 v=1e 5\n", 1, false},
		{"a string holding a newline", "cpu,node=web-1 v=\"a\nb\" 5\n", 1, false},
		{"an escape", "cpu,node=web-1,path=a\\ b v=1 5\n", 1, false},
		{"CR LF line ends", "cpu,node=web-1 v=1 5\r\n", 1, false},
		{"a comment", "# hello\ncpu,node=web-1 v=1 5\n", 1, false},
		{"a blank line between", "cpu,node=web-1 v=1 5\n\ncpu,node=web-1 v=2 6\n", 1, false},
		{"a blank line at the end", "cpu,node=web-1 v=1 5\n\n", 1, false},
		{"leading spaces", "  cpu,node=web-1 v=1 5\n", 1, false},
		{"two spaces before the fields", "cpu,node=web-1  v=1 5\n", 1, false},
		{"two spaces before the timestamp", "cpu,node=web-1 v=1  5\n", 1, false},
		{"trailing spaces", "cpu,node=web-1 v=1 5 \n", 1, false},
		{"an equals sign in a tag value", "cpu,node=web-1,q=a=b v=1 5\n", 1, false},
		{"a rejected line in the batch", "cpu,node=web-1 v=1 5\ncpu,node=web-1 v= 6\n", 1, false},
		{"an unapproved plugin flagged", "cpu,node=web-1,plugin=rogue v=1 5\n", 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rules{node: "web-1", unit: tc.unit, now: 1e18,
				approve: fakeApprovals(map[string]string{"system": "ok", "rogue": "unapproved"})}
			var d decoded
			if err := decode(context.Background(), []byte(tc.body), r, &d); err != nil {
				t.Fatal(err)
			}
			if d.verbatim != tc.want {
				t.Errorf("verbatim = %v, want %v (points %d, rejected %d: %v)", d.verbatim, tc.want, len(d.points), d.rejected, d.errs)
			}
			if d.verbatim {
				checkVerbatim(t, []byte(tc.body), r, &d)
			}
		})
	}
}

// checkVerbatim checks what a verbatim body promises: one line per point,
// in order, each decoding alone to its point.
func checkVerbatim(t *testing.T, body []byte, r rules, d *decoded) {
	t.Helper()
	if r.unit != 1 || bytes.ContainsAny(body, "\\\r") {
		t.Fatalf("verbatim with precision %d or an escape or CR: %q", r.unit, body)
	}
	lines := bytes.SplitAfter(body, []byte{'\n'})
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	if len(lines) != len(d.points) {
		t.Fatalf("verbatim body of %d lines holds %d points", len(lines), len(d.points))
	}
	for i, line := range lines {
		var one decoded
		if err := decode(context.Background(), line, r, &one); err != nil {
			t.Fatal(err)
		}
		if len(one.points) != 1 || !one.verbatim {
			t.Fatalf("line %d %q alone: %d points, verbatim %v", i+1, line, len(one.points), one.verbatim)
		}
		if diff := cmp.Diff(render(d.points[i]), render(one.points[0])); diff != "" {
			t.Errorf("line %d is not point %d (-batch +alone):\n%s", i+1, i+1, diff)
		}
	}
}

func TestPlainFloat(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"0", true}, {"-0", true}, {"12.5", true}, {"1e9", true}, {"1E-9", true}, {"-1.5e+300", true},
		{"", false}, {"-", false}, {".5", false}, {"5.", false}, {"1e", false}, {"1e+", false},
		{"0x1p-2", false}, {"1_000", false}, {"+1", false}, {"1.5.5", false}, {"Inf", false}, {"1e5e5", false},
	} {
		if got := plainFloat([]byte(tc.in)); got != tc.want {
			t.Errorf("plainFloat(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// lineStore is a metrics.LineWriter that records which way each batch came.
type lineStore struct {
	recordingStore
	lines []string // what WriteLines was given, one entry per call
}

func (s *lineStore) WriteLines(ctx context.Context, pts []metrics.Point, lines []byte) error {
	if err := s.recordingStore.Write(ctx, pts); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lines = append(s.lines, string(lines))
	return nil
}

// TestWriteVerbatim: through HTTP, an agent's batch (gzip, no newline at
// the end) reaches a LineWriter as the bytes sent plus the newline, with
// its decoded points; a body that needs rewriting goes through Write.
func TestWriteVerbatim(t *testing.T) {
	ls := &lineStore{}
	f := newFixture(t, Config{Metrics: ls})
	const batch = "cpu,node=web-1,plugin=vigil a=1.5,b=2i 1777636800000000000\nmem,node=web-1,plugin=vigil used=7 1777636800000000000"
	if r := f.do(request{method: "POST", path: "/v1/write", who: "agent", body: []byte(batch), gzip: true}); r.status != http.StatusNoContent {
		t.Fatalf("verbatim batch: %d %s", r.status, r.body)
	}
	if diff := cmp.Diff([]string{batch + "\n"}, ls.lines); diff != "" {
		t.Errorf("WriteLines got (-want +got):\n%s", diff)
	}
	want := []string{"cpu node=web-1,plugin=vigil a=1.5,b=2i 1777636800000000000", "mem node=web-1,plugin=vigil used=7 1777636800000000000"}
	if diff := cmp.Diff(want, ls.got()); diff != "" {
		t.Errorf("points (-want +got):\n%s", diff)
	}

	for _, r := range []request{
		{method: "POST", path: "/v1/write", who: "agent", body: []byte("cpu,plugin=vigil a=1 1777636800000000000\n")},                   // node added
		{method: "POST", path: "/write?db=x&precision=s", who: "agent", auth: "token", body: []byte("cpu,node=web-1 a=1 1777636800\n")}, // seconds
	} {
		if resp := f.do(r); resp.status != http.StatusNoContent {
			t.Fatalf("%s: %d %s", r.path, resp.status, resp.body)
		}
	}
	if len(ls.lines) != 1 || ls.writes != 3 {
		t.Errorf("%d WriteLines calls of 3 writes, want only the first verbatim", len(ls.lines))
	}
	if got := f.h.Stats().BatchesVerbatim; got != 1 {
		t.Errorf("Stats().BatchesVerbatim = %d, want 1", got)
	}
}
