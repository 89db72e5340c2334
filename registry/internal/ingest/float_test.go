package ingest

import (
	"math"
	"strconv"
	"testing"
)

// TestParsePlainFloat: the plain form is accepted exactly where
// plainFloat accepts it, and every value is ParseFloat's, bit for bit (the
// sign of zero included), on both sides of the fast path's limits.
func TestParsePlainFloat(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"0", true}, {"-0", true}, {"-0.0", true}, {"12.5", true}, {"1e9", true}, {"1E-9", true}, {"-1.5e+300", true},
		{"0.1", true}, {"0.3", true}, {"12.345678", true}, {"-98.76", true}, {"100", true}, {"0000001.5", true},
		// 2^53 - 1 and 2^53 digits: the fast path ends there
		{"9007199254740991", true}, {"9007199254740992", true}, {"9007199254740993", true}, {"900719925474099.3", true},
		{"123456789012345678901234567890", true}, {"0.12345678901234567890123", true},
		// powers of ten at the fast path's edge and past it
		{"1e22", true}, {"1e23", true}, {"1e-22", true}, {"1e-23", true}, {"5e-324", true}, {"2e-324", true},
		{"1.7976931348623157e308", true}, {"1e-400", true}, {"1e0000000000000000000001", true},
		{"123.456e-20", true}, {"123.456e+19", true},
		// out of range: ParseFloat fails, and so does the plain path
		{"1e400", false}, {"-1e309", false},
		// not plain
		{"", false}, {"-", false}, {".5", false}, {"5.", false}, {"1e", false}, {"1e+", false}, {"--1", false},
		{"0x1p-2", false}, {"1_000", false}, {"+1", false}, {"1.5.5", false}, {"Inf", false}, {"NaN", false}, {"1e5e5", false},
	} {
		got, ok := parsePlainFloat(tc.in)
		if ok != tc.ok {
			t.Errorf("parsePlainFloat(%q) ok = %v, want %v", tc.in, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		want, err := strconv.ParseFloat(tc.in, 64)
		if err != nil {
			t.Fatalf("ParseFloat(%q): %v", tc.in, err)
		}
		if math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("parsePlainFloat(%q) = %v (%#x), want %v (%#x)", tc.in, got, math.Float64bits(got), want, math.Float64bits(want))
		}
	}
}

// FuzzParsePlainFloat holds parsePlainFloat to plainFloat's syntax and to
// ParseFloat's values, bit for bit.
func FuzzParsePlainFloat(f *testing.F) {
	for _, s := range []string{"0", "-0", "12.5", "1e22", "1e23", "9007199254740993", "0.1", "1e-400", "1e400", ".5", "1_0", "1.5E+7"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parsePlainFloat(s)
		want, err := strconv.ParseFloat(s, 64)
		if wantOK := plainFloat([]byte(s)) && err == nil; ok != wantOK {
			t.Fatalf("parsePlainFloat(%q) ok = %v, want %v (plainFloat %v, ParseFloat %v)", s, ok, wantOK, plainFloat([]byte(s)), err)
		}
		if ok && math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("parsePlainFloat(%q) = %v (%#x), ParseFloat %v (%#x)", s, got, math.Float64bits(got), want, math.Float64bits(want))
		}
	})
}
