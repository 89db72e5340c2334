package ingest

import "strconv"

// pow10 are the powers of ten a float64 holds exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parsePlainFloat parses v if it is a float in the plain form (see
// plainFloat) and returns what strconv.ParseFloat(v, 64) returns, bit for
// bit; false if v is not in that form or is out of range.
//
// A float of at most 15-16 significant digits (a counter, a rounded
// value) takes Clinger's fast path: its digits as an integer below 2^53
// and a power of ten of at most 22 are both exact float64s, and one IEEE
// multiplication or division of them is the correctly rounded result, as
// ParseFloat's own fast path computes it, without ParseFloat's general
// reader (hex, underscores, "inf"), which was 7% of the registry's CPU
// when forwarding. Longer ones (a division's result written in full, 17
// digits) and large exponents go to ParseFloat. FuzzParsePlainFloat holds
// the two equal.
func parsePlainFloat(v string) (float64, bool) {
	i, neg := 0, false
	if i < len(v) && v[i] == '-' {
		neg, i = true, i+1
	}
	var mant uint64
	exact := true // mant holds every digit, and is below 2^53
	exp := 0
	n := 0
	for ; i < len(v) && v[i] >= '0' && v[i] <= '9'; i++ {
		mant, exact = addDigit(mant, v[i], exact)
		n++
	}
	if n == 0 {
		return 0, false
	}
	if i < len(v) && v[i] == '.' {
		i++
		n = 0
		for ; i < len(v) && v[i] >= '0' && v[i] <= '9'; i++ {
			mant, exact = addDigit(mant, v[i], exact)
			n++
		}
		if n == 0 {
			return 0, false
		}
		exp = -n
	}
	if i < len(v) && (v[i] == 'e' || v[i] == 'E') {
		i++
		eneg := false
		if i < len(v) && (v[i] == '+' || v[i] == '-') {
			eneg, i = v[i] == '-', i+1
		}
		e, n := 0, 0
		for ; i < len(v) && v[i] >= '0' && v[i] <= '9'; i++ {
			if e < 10_000 {
				e = e*10 + int(v[i]-'0')
			}
			n++
		}
		if n == 0 {
			return 0, false
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	if i != len(v) {
		return 0, false
	}
	if exact && exp >= -22 && exp <= 22 {
		f := float64(mant)
		if neg {
			f = -f
		}
		if exp >= 0 {
			return f * pow10[exp], true
		}
		return f / pow10[-exp], true
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, false // out of range: decodeV2 rejects it
	}
	return f, true
}

// addDigit appends decimal digit c to mant while the fast path can still
// take it.
func addDigit(mant uint64, c byte, exact bool) (uint64, bool) {
	if !exact {
		return mant, false
	}
	mant = mant*10 + uint64(c-'0')
	return mant, mant < 1<<53
}
