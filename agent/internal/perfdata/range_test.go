package perfdata

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vigilmon/vigil/sdk"
)

// The H.2 rows of PROMISES.md.
func TestRangeAlertH2(t *testing.T) {
	type point struct {
		x     float64
		alert bool
	}
	tests := []struct {
		rng    string
		want   Range
		points []point
	}{
		{"10", Range{Start: 0, End: 10}, []point{{-1, true}, {0, false}, {10, false}, {10.1, true}}},
		{"10:", Range{Start: 10, End: math.Inf(1)}, []point{{9.9, true}, {10, false}, {1e9, false}}},
		{"~:10", Range{Start: math.Inf(-1), End: 10}, []point{{-1e9, false}, {10, false}, {11, true}}},
		{"10:20", Range{Start: 10, End: 20}, []point{{9, true}, {15, false}, {21, true}}},
		{"@10:20", Range{Start: 10, End: 20, Inside: true}, []point{{9, false}, {10, true}, {20, true}, {21, false}}},
		{"~:", Range{Start: math.Inf(-1), End: math.Inf(1)}, []point{{math.Inf(-1), false}, {-1e300, false}, {0, false}, {1e300, false}, {math.Inf(1), false}}},
	}
	for _, tt := range tests {
		t.Run(tt.rng, func(t *testing.T) {
			r, err := ParseRange(tt.rng)
			if err != nil {
				t.Fatalf("ParseRange(%q): %v", tt.rng, err)
			}
			if diff := cmp.Diff(tt.want, r); diff != "" {
				t.Errorf("ParseRange(%q) mismatch (-want +got):\n%s", tt.rng, diff)
			}
			for _, p := range tt.points {
				if got := r.Alert(p.x); got != p.alert {
					t.Errorf("Range(%q).Alert(%v) = %v, want %v", tt.rng, p.x, got, p.alert)
				}
			}
		})
	}
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Range
		wantErr bool
	}{
		{name: "start greater than end (H.2)", in: "20:10", wantErr: true},
		{name: "empty", in: "", wantErr: true},
		{name: "at only", in: "@", wantErr: true},
		{name: "tilde as end", in: "10:~", wantErr: true},
		{name: "tilde alone", in: "~", wantErr: true},
		{name: "words", in: "abc", wantErr: true},
		{name: "inf is not a number here", in: "inf", wantErr: true},
		{name: "negative upper bound below default start", in: "-5", wantErr: true},
		{name: "colon alone", in: ":", want: Range{Start: 0, End: math.Inf(1)}},
		{name: "decimals and negatives", in: "-1.5:2.5e1", want: Range{Start: -1.5, End: 25}},
		{name: "at with single value", in: "@10", want: Range{Start: 0, End: 10, Inside: true}},
		{name: "surrounding spaces", in: " 1:1 ", want: Range{Start: 1, End: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRange(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrRangeFormat) {
					t.Fatalf("ParseRange(%q) error = %v, want ErrRangeFormat", tt.in, err)
				}
				if !strings.Contains(err.Error(), "Range format incorrect") {
					t.Errorf("error %q does not carry Nagios's text", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRange(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseRange(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestEvaluate(t *testing.T) {
	tests := []struct {
		name       string
		x          float64
		warn, crit string
		want       sdk.Status
		wantErr    bool
	}{
		{name: "H.2 -w 10 -c 20 x=15", x: 15, warn: "10", crit: "20", want: sdk.Warning},
		{name: "H.2 -w 10 -c 20 x=25", x: 25, warn: "10", crit: "20", want: sdk.Critical},
		{name: "H.2 -w 10 -c 20 x=-1 critical first", x: -1, warn: "10", crit: "20", want: sdk.Critical},
		{name: "inside both", x: 5, warn: "10", crit: "20", want: sdk.OK},
		{name: "no thresholds", x: 1e9, want: sdk.OK},
		{name: "perfdata style 1:", x: 0, crit: "1:", want: sdk.Critical},
		{name: "bad warn", x: 1, warn: "20:10", want: sdk.Unknown, wantErr: true},
		{name: "bad crit", x: 1, crit: "x", want: sdk.Unknown, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Evaluate(tt.x, tt.warn, tt.crit)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Evaluate error = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Evaluate(%v, %q, %q) = %v, want %v", tt.x, tt.warn, tt.crit, got, tt.want)
			}
		})
	}
}
