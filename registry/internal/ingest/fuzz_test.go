package ingest

import (
	"bytes"
	"context"
	"math"
	"testing"
	"unicode/utf8"

	"github.com/vigilmon/vigil/registry/internal/metrics"
)

// FuzzDecode feeds arbitrary bodies through decode and validation. mode
// picks the rules: bit 0 a token with no node (the admin's), bit 1 reject
// unapproved plugins, bits 2–3 the precision. Whatever the body, decode
// must not panic, every rejected line must be a line of the body, every
// line must be either stored or rejected, every stored point must be
// valid as metrics.Point requires, and a body found verbatim must be one
// line per point (checkVerbatim).
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		"cpu,host=a usage=1.5,count=3i,up=true,n=7u,msg=\"hi\" 100\n",
		"cpu,host=a,node=other v=1\ncpu,node=web-1 v=2 3\n",
		"# comment\n\n  \ncpu v=1\r\nmem v=2\r\n",
		"my\\ cpu,ho\\,st=a\\ b v=\"x\\\"y\" 1\nlog msg=\"one\ntwo\" 2\nlog v=1 3x\n",
		"cpu,z=1,a=2,a=3 v=1,v=2 1\ncpu,plugin=x v=1\ncpu,plugin=vigil,unapproved=no v=1\n",
		"cpu v=NaN\ncpu v=1e400\ncpu v=1 9223372036854775807\ncpu v=1 -9223372036854775808\n",
		"cpu,host= v=1\ncpu\n,\n=\n\\\n\"\n#cpu v=1\n",
		"\xff\xfe v=1\ncpu \xff=1\ncpu v=\"\xff\"\n",
		"cpu,cpu=cpu0,node=web-1,plugin=good a=1.5,b=-2e+06,c=3i,d=t,e=\"x y\" 100\nmem,node=web-1 v=1 101",
	} {
		for mode := byte(0); mode < 16; mode += 5 {
			f.Add([]byte(seed), mode)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, mode byte) {
		r := rules{node: "web-1", unit: [4]int64{1, 1e3, 1e6, 60e9}[mode>>2&3], now: 1e18}
		if mode&1 != 0 {
			r.node = ""
		}
		r.reject = mode&2 != 0
		r.approve = fakeApprovals(map[string]string{"good": "ok", "new": "no-inventory"})
		var d decoded
		if err := decode(context.Background(), body, r, &d); err != nil {
			t.Fatalf("decode: %v", err)
		}
		lines := bytes.Count(body, []byte{'\n'}) + 1
		for _, e := range d.errs {
			if e.Line < 1 || e.Line > lines || e.Column < 1 {
				t.Errorf("error at %d:%d, outside the body's %d lines: %s", e.Line, e.Column, lines, e.Error)
			}
		}
		if len(d.points)+d.rejected != d.lines {
			t.Errorf("%d points + %d rejected != %d lines", len(d.points), d.rejected, d.lines)
		}
		if want := min(d.rejected, maxListed); len(d.errs) != want {
			t.Errorf("%d errors listed, want %d", len(d.errs), want)
		}
		for _, p := range d.points {
			if msg := invalidPoint(p, r.node); msg != "" {
				t.Errorf("stored an invalid point %q: %s", render(p), msg)
			}
		}
		if d.verbatim {
			checkVerbatim(t, body, r, &d)
		}
	})
}

// invalidPoint says what breaks metrics.Point's rules in p, "" if nothing.
func invalidPoint(p metrics.Point, node string) string {
	switch {
	case p.Measurement == "" || p.Measurement[0] == '#':
		return "bad measurement"
	case !utf8.ValidString(p.Measurement):
		return "measurement not UTF-8"
	case len(p.Fields) == 0:
		return "no fields"
	}
	hasNode := false
	for i, t := range p.Tags {
		switch {
		case t.Key == "" || t.Value == "":
			return "empty tag key or value"
		case i > 0 && p.Tags[i-1].Key >= t.Key:
			return "tags not sorted and unique"
		case !utf8.ValidString(t.Key) || !utf8.ValidString(t.Value):
			return "tag not UTF-8"
		case t.Key == "node":
			hasNode = true
			if node != "" && t.Value != node {
				return "another node's point"
			}
		}
	}
	if !hasNode {
		return "no node tag"
	}
	for i, f := range p.Fields {
		if f.Key == "" || !utf8.ValidString(f.Key) {
			return "bad field key"
		}
		for _, g := range p.Fields[:i] {
			if g.Key == f.Key {
				return "duplicate field"
			}
		}
		switch f.Value.Kind {
		case metrics.Float:
			if math.IsNaN(f.Value.F) || math.IsInf(f.Value.F, 0) {
				return "non-finite float"
			}
		case metrics.Int, metrics.Uint, metrics.Bool:
		case metrics.String:
			if !utf8.ValidString(f.Value.S) {
				return "string not UTF-8"
			}
		default:
			return "unknown kind"
		}
	}
	return ""
}
