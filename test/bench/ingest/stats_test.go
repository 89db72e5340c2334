package main

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{name: "empty", sorted: nil, p: 50, want: 0},
		{name: "one value", sorted: []time.Duration{7}, p: 99, want: 7},
		{name: "p50 of 1..100", sorted: hundred, p: 50, want: 50 * time.Millisecond},
		{name: "p99 of 1..100", sorted: hundred, p: 99, want: 99 * time.Millisecond},
		{name: "p100 is the max", sorted: hundred, p: 100, want: 100 * time.Millisecond},
		{name: "tiny p is the min", sorted: hundred, p: 0.001, want: time.Millisecond},
		{name: "p99 of 10 is the max", sorted: hundred[:10], p: 99, want: 10 * time.Millisecond},
		{name: "p50 of 3 is the middle", sorted: []time.Duration{1, 2, 3}, p: 50, want: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.sorted, tc.p); got != tc.want {
				t.Errorf("percentile(%v) = %v, want %v", tc.p, got, tc.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []time.Duration
		want latency
	}{
		{name: "none", in: nil, want: latency{}},
		{
			name: "unsorted",
			in:   []time.Duration{300 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 1500 * time.Microsecond},
			want: latency{P50: 100, P99: 300, Max: 300},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, summarize(tc.in)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
