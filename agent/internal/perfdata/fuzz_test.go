package perfdata

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// nagiosOutputs are the outputs quoted in PROMISES.md (Debian's
// monitoring-plugins 2.3.3) and its H.3 vectors.
var nagiosOutputs = []string{
	"LOAD OK - total load average: 3.13, 1.12, 0.41|load1=3.130;5.000;10.000;0; load5=1.120;4.000;8.000;0; load15=0.410;3.000;6.000;0; ",
	"LOAD WARNING - scaled load average: 1.56, 0.56, 0.20 - total load average: 3.13, 1.12, 0.41|load1=3.130;;;0; scaled_load1=1.565;0.010;100.000;0; ",
	"DISK OK - free space: / 78787MiB (84% inode=97%);| /=15178137600B;216442024755;243497277849;0;270552530944",
	"PROCS OK: 95 processes | procs=95;;;0;",
	"PROCS OK: 1 process with command name 'python3' | procs=1;1:1;;0;",
	"PROCS CRITICAL: 0 processes with command name 'nosuchproc' | procs=0;;1:;0;",
	"TCP OK - 0.000 second response time on 127.0.0.1 port 18080|time=0.000401s;;;0.000000;10.000000",
	"connect to address 127.0.0.1 and port 18099: Connection refused",
	"HTTP OK: HTTP/1.0 200 OK - 715 bytes in 0.001 second response time |time=0.001193s;;;0.000000;10.000000 size=715B;;;0;",
	"HTTP WARNING: HTTP/1.0 404 File not found - 520 bytes in 0.014 second response time |time=0.014177s;;;0.000000;10.000000 size=520B;;;0;",
	"connect to address 127.0.0.1 and port 18099: Connection refused\nHTTP CRITICAL - Unable to open TCP socket",
	"CRITICAL - Socket timeout after 2 seconds",
	"WARNING: hello",
	"UNKNOWN: Status 7 is not a supported error state",
	"[OK] - all fine\n\t[OK] sub one\n\t[OK] sub two|a=1;2;3;0;10",
	"|load1=3.130;5.000;10.000;0;",
	"|'a b''c'=5%;80;90",
	"|x=U;;;;",
	"DISK OK\n/ 10%\n/var 20% | /=1B;;;0;\n/var=2B;;;0;",
}

func FuzzParse(f *testing.F) {
	for _, s := range nagiosOutputs {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := Parse(in)
		for _, p := range out.Perfdata {
			if p.Label == "" {
				t.Fatalf("Parse(%q) returned an item with an empty label", in)
			}
			if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
				t.Fatalf("Parse(%q) returned value %v", in, p.Value)
			}
		}
		if strings.ContainsAny(out.Summary, "|\n") {
			t.Fatalf("summary %q holds a pipe or newline", out.Summary)
		}
		if strings.Contains(out.LongOutput, "|") {
			t.Fatalf("long output %q holds a pipe", out.LongOutput)
		}
		// What was parsed prints back to the same items.
		again := Parse("|" + Format(out.Perfdata))
		if len(again.Errors) != 0 {
			t.Fatalf("Parse(Format(items)) errors %v for input %q", again.Errors, in)
		}
		if diff := cmp.Diff(out.Perfdata, again.Perfdata); diff != "" {
			t.Fatalf("Parse(Format(items)) mismatch for input %q (-first +second):\n%s", in, diff)
		}
	})
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"10", "10:", "~:10", "10:20", "@10:20", "~:", "20:10", "1:1", "1:", "@~:0", "-1.5e3:+2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r, err := ParseRange(in)
		if err != nil {
			return
		}
		if math.IsNaN(r.Start) || math.IsNaN(r.End) || r.Start > r.End {
			t.Fatalf("ParseRange(%q) = %+v", in, r)
		}
		// A point inside the range alerts exactly for "@" ranges.
		inside := r.End
		if math.IsInf(inside, 1) {
			inside = r.Start
		}
		if !math.IsInf(inside, 0) && r.Alert(inside) != r.Inside {
			t.Fatalf("Range %+v: Alert(%v) = %v, want %v", r, inside, !r.Inside, r.Inside)
		}
	})
}
