package perfdata

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vigilmon/vigil/sdk"
)

func f(v float64) *float64 { return &v }

// The H.3 rows of PROMISES.md. Rows that are a lone perfdata item are given
// after "|" so that they are read as perfdata.
func TestParseH3(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Output
	}{
		{
			name: "load1 trailing semicolon",
			in:   "|load1=3.130;5.000;10.000;0;",
			want: Output{Perfdata: []sdk.Perfdata{{Label: "load1", Value: 3.13, Warn: "5.000", Crit: "10.000", Min: f(0)}}},
		},
		{
			name: "disk bytes",
			in:   "|/=15178137600B;216442024755;243497277849;0;270552530944",
			want: Output{Perfdata: []sdk.Perfdata{{
				Label: "/", Value: 15178137600, Unit: "B", Warn: "216442024755", Crit: "243497277849",
				Min: f(0), Max: f(270552530944),
			}}},
		},
		{
			name: "time seconds empty thresholds",
			in:   "|time=0.000401s;;;0.000000;10.000000",
			want: Output{Perfdata: []sdk.Perfdata{{Label: "time", Value: 0.000401, Unit: "s", Min: f(0), Max: f(10)}}},
		},
		{
			name: "warn range",
			in:   "|procs=1;1:1;;0;",
			want: Output{Perfdata: []sdk.Perfdata{{Label: "procs", Value: 1, Warn: "1:1", Min: f(0)}}},
		},
		{
			name: "quoted label with space and escaped quote",
			in:   "|'a b''c'=5%;80;90",
			want: Output{Perfdata: []sdk.Perfdata{{Label: "a b'c", Value: 5, Unit: "%", Warn: "80", Crit: "90"}}},
		},
		{
			name: "unknown value kept",
			in:   "|x=U;;;;",
			want: Output{Perfdata: []sdk.Perfdata{{Label: "x", Unknown: true}}},
		},
		{
			name: "http summary and two items",
			in:   "HTTP OK: HTTP/1.0 200 OK - 715 bytes in 0.001 second response time |time=0.001193s;;;0.000000;10.000000 size=715B;;;0;",
			want: Output{
				Summary: "HTTP OK: HTTP/1.0 200 OK - 715 bytes in 0.001 second response time",
				Perfdata: []sdk.Perfdata{
					{Label: "time", Value: 0.001193, Unit: "s", Min: f(0), Max: f(10)},
					{Label: "size", Value: 715, Unit: "B", Min: f(0)},
				},
			},
		},
		{
			name: "multi-line long output and perfdata",
			in:   "DISK OK\n/ 10%\n/var 20% | /=1B;;;0;\n/var=2B;;;0;",
			want: Output{
				Summary:    "DISK OK",
				LongOutput: "/ 10%\n/var 20%",
				Perfdata: []sdk.Perfdata{
					{Label: "/", Value: 1, Unit: "B", Min: f(0)},
					{Label: "/var", Value: 2, Unit: "B", Min: f(0)},
				},
			},
		},
		{
			name: "error line before status line",
			in:   "connect to address 127.0.0.1 and port 18099: Connection refused\nHTTP CRITICAL - Unable to open TCP socket",
			want: Output{
				Summary:    "connect to address 127.0.0.1 and port 18099: Connection refused",
				LongOutput: "HTTP CRITICAL - Unable to open TCP socket",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Parse(tt.in)); diff != "" {
				t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Output
	}{
		{name: "empty", in: "", want: Output{}},
		{name: "summary only with newline", in: "OK\n", want: Output{Summary: "OK"}},
		{
			name: "check_load",
			in:   "LOAD OK - total load average: 3.13, 1.12, 0.41|load1=3.130;5.000;10.000;0; load5=1.120;4.000;8.000;0; load15=0.410;3.000;6.000;0; \n",
			want: Output{
				Summary: "LOAD OK - total load average: 3.13, 1.12, 0.41",
				Perfdata: []sdk.Perfdata{
					{Label: "load1", Value: 3.13, Warn: "5.000", Crit: "10.000", Min: f(0)},
					{Label: "load5", Value: 1.12, Warn: "4.000", Crit: "8.000", Min: f(0)},
					{Label: "load15", Value: 0.41, Warn: "3.000", Crit: "6.000", Min: f(0)},
				},
			},
		},
		{
			name: "check_disk semicolon before pipe",
			in:   "DISK OK - free space: / 78787MiB (84% inode=97%);| /=15178137600B;216442024755;243497277849;0;270552530944",
			want: Output{
				Summary:  "DISK OK - free space: / 78787MiB (84% inode=97%);",
				Perfdata: []sdk.Perfdata{{Label: "/", Value: 15178137600, Unit: "B", Warn: "216442024755", Crit: "243497277849", Min: f(0), Max: f(270552530944)}},
			},
		},
		{
			name: "check_procs critical range",
			in:   "PROCS CRITICAL: 0 processes with command name 'nosuchproc' | procs=0;;1:;0;",
			want: Output{
				Summary:  "PROCS CRITICAL: 0 processes with command name 'nosuchproc'",
				Perfdata: []sdk.Perfdata{{Label: "procs", Crit: "1:", Min: f(0)}},
			},
		},
		{
			name: "crlf line endings",
			in:   "WARNING: hello\r\ndetail\r\n| a=1\r\n",
			want: Output{Summary: "WARNING: hello", LongOutput: "detail", Perfdata: []sdk.Perfdata{{Label: "a", Value: 1}}},
		},
		{
			name: "perfdata on first line and after later pipe",
			in:   "OK | a=1\n  sub-check one\n  sub-check two |b=2 c=3\nd=4",
			want: Output{
				Summary:    "OK",
				LongOutput: "  sub-check one\n  sub-check two",
				Perfdata:   []sdk.Perfdata{{Label: "a", Value: 1}, {Label: "b", Value: 2}, {Label: "c", Value: 3}, {Label: "d", Value: 4}},
			},
		},
		{
			name: "lines after the second pipe are all perfdata",
			in:   "OK\n| a=1\nb=2\n\nc=3",
			want: Output{Summary: "OK", Perfdata: []sdk.Perfdata{{Label: "a", Value: 1}, {Label: "b", Value: 2}, {Label: "c", Value: 3}}},
		},
		{
			name: "units verbatim lowercase and unknown",
			in:   "OK|a=1kb b=2MiB c=3c d=-4.5e2ms e=.5ops/s",
			want: Output{Summary: "OK", Perfdata: []sdk.Perfdata{
				{Label: "a", Value: 1, Unit: "kb"},
				{Label: "b", Value: 2, Unit: "MiB"},
				{Label: "c", Value: 3, Unit: "c"},
				{Label: "d", Value: -450, Unit: "ms"},
				{Label: "e", Value: 0.5, Unit: "ops/s"},
			}},
		},
		{
			name: "tabs and repeated spaces between items",
			in:   "OK|\ta=1;;;;\t  b=2   ",
			want: Output{Summary: "OK", Perfdata: []sdk.Perfdata{{Label: "a", Value: 1}, {Label: "b", Value: 2}}},
		},
		{
			name: "bounds may repeat the unit",
			in:   "OK|used=5MB;;;0MB;10MB",
			want: Output{Summary: "OK", Perfdata: []sdk.Perfdata{{Label: "used", Value: 5, Unit: "MB", Min: f(0), Max: f(10)}}},
		},
		{
			name: "unquoted label keeps odd characters",
			in:   "OK|it's|x=1",
			want: Output{Summary: "OK", Perfdata: []sdk.Perfdata{{Label: "it's|x", Value: 1}}},
		},
		{
			name: "malformed items are skipped and reported",
			in:   "OK|a=1 novalue =3 b= c=x d=1;2;3;4;5;6 e=1;;;z ''=4 'q'x=1 f=2 g=5..5 g2=0E0E0 h=1e999 i=2 'unterminated=1 j=3",
			want: Output{
				Summary: "OK",
				Perfdata: []sdk.Perfdata{
					{Label: "a", Value: 1},
					{Label: "f", Value: 2},
					{Label: "i", Value: 2},
					{Label: "j", Value: 3},
				},
				Errors: []error{
					&ItemError{Item: "novalue", Reason: "missing '='"},
					&ItemError{Item: "=3", Reason: "empty label"},
					&ItemError{Item: "b=", Reason: "missing value"},
					&ItemError{Item: "c=x", Reason: "value is not a number"},
					&ItemError{Item: "d=1;2;3;4;5;6", Reason: "more than 5 fields"},
					&ItemError{Item: "e=1;;;z", Reason: "min is not a number"},
					&ItemError{Item: "''=4", Reason: "empty label"},
					&ItemError{Item: "'q'x=1", Reason: "missing '=' after quoted label"},
					&ItemError{Item: "g=5..5", Reason: "value is not a number"},
					&ItemError{Item: "g2=0E0E0", Reason: "value is not a number"},
					&ItemError{Item: "h=1e999", Reason: "value out of range"},
					&ItemError{Item: "'unterminated=1", Reason: "unterminated quoted label"},
				},
			},
		},
		{
			name: "extra empty fields are fine",
			in:   "OK|a=1;;;;;;",
			want: Output{Summary: "OK", Perfdata: []sdk.Perfdata{{Label: "a", Value: 1}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Parse(tt.in)); diff != "" {
				t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestItemErrorMessage(t *testing.T) {
	long := "x=" + string(make([]byte, 500))
	out := Parse("OK|" + long)
	if len(out.Errors) != 1 {
		t.Fatalf("got %d errors, want 1", len(out.Errors))
	}
	want := `malformed perfdata item "c=x": value is not a number`
	if got := Parse("|c=x").Errors[0].Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got := len(out.Errors[0].(*ItemError).Item); got != maxItemInError+3 {
		t.Errorf("quoted item is %d bytes, want %d", got, maxItemInError+3)
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		name  string
		items []sdk.Perfdata
		want  string
	}{
		{name: "none", want: ""},
		{
			name: "plain and trailing fields dropped",
			items: []sdk.Perfdata{
				{Label: "load1", Value: 3.13, Warn: "5", Crit: "10", Min: f(0)},
				{Label: "time", Value: 0.5, Unit: "s", Min: f(0), Max: f(10)},
				{Label: "x", Unknown: true},
			},
			want: "load1=3.13;5;10;0 time=0.5s;;;0;10 x=U",
		},
		{
			name:  "quoted label",
			items: []sdk.Perfdata{{Label: "a b'c", Value: 5, Unit: "%"}, {Label: "k=v", Value: 1}},
			want:  "'a b''c'=5% 'k=v'=1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Format(tt.items)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Format mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.items, Parse("|"+got).Perfdata); diff != "" {
				t.Errorf("Parse(Format) mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	in := nagiosOutputs[0] + "\nlong line one\nlong line two | a=1;2;3;0;10 'b c'=2.5ms;;;0;\n"
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if out := Parse(in); len(out.Perfdata) != 5 {
			b.Fatalf("got %d items", len(out.Perfdata))
		}
	}
}
