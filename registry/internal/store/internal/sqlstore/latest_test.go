package sqlstore

import (
	"cmp"
	"math"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
)

// TestValueRoundTrip covers what the conformance suite's cmp.Diff cannot
// see: floats that == does not tell apart (-0, NaN).
func TestValueRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    float64
	}{
		{"negative zero", math.Copysign(0, -1)},
		{"NaN", math.NaN()},
		{"+Inf", math.Inf(1)},
		{"-Inf", math.Inf(-1)},
		{"smallest subnormal", math.SmallestNonzeroFloat64},
		{"one third", 1.0 / 3},
	} {
		kind, text, ok := encodeValue(tc.v)
		if !ok || kind != "float" {
			t.Fatalf("%s: encodeValue = %q, %q, %v", tc.name, kind, text, ok)
		}
		got, err := decodeValue(kind, text)
		if err != nil {
			t.Fatalf("%s: decodeValue(%q): %v", tc.name, text, err)
		}
		f, isFloat := got.(float64)
		if !isFloat || math.Float64bits(f) != math.Float64bits(tc.v) && !(math.IsNaN(f) && math.IsNaN(tc.v)) {
			t.Errorf("%s: %v (%T) read back as %v (%T)", tc.name, tc.v, tc.v, got, got)
		}
	}
}

func TestDecodeValueRefusesDamage(t *testing.T) {
	for _, tc := range []struct{ kind, text string }{
		{"float", "abc"}, {"int", "1.5"}, {"uint", "-1"}, {"bool", "yes"}, {"complex", "1"},
	} {
		if v, err := decodeValue(tc.kind, tc.text); err == nil {
			t.Errorf("decodeValue(%q, %q) = %v, want an error", tc.kind, tc.text, v)
		}
	}
}

func TestNewest(t *testing.T) {
	type row struct {
		key string
		at  int
	}
	rows := []row{{"b", 1}, {"a", 2}, {"b", 3}, {"a", 2}, {"c", 0}, {"b", 2}}
	got := newest(len(rows), func(a, b int) int { return cmp.Compare(rows[a].key, rows[b].key) },
		func(i int) time.Time { return time.Unix(int64(rows[i].at), 0) })
	// a: rows 1 and 3 tie, the later (3) wins; b: row 2 is the newest.
	if d := gocmp.Diff([]int{3, 2, 4}, got); d != "" {
		t.Errorf("newest (-want +got):\n%s", d)
	}
}

func TestPlaceholders(t *testing.T) {
	for _, tc := range []struct {
		name       string
		rows, cols int
		anonymous  bool
		want       string
	}{
		{"numbered", 2, 3, false, "($1, $2, $3), ($4, $5, $6)"},
		{"anonymous", 2, 2, true, "(?, ?), (?, ?)"},
		{"one", 1, 1, false, "($1)"},
	} {
		if d := gocmp.Diff(tc.want, placeholders(tc.rows, tc.cols, tc.anonymous)); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}
}
