package agentconfig

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/zclconf/go-cty/cty"
)

// sizeUnits are the suffixes ParseSize accepts, in bytes.
var sizeUnits = map[string]int64{
	"": 1, "B": 1,
	"KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
	"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
}

// ParseSize reads a byte size such as "512MiB", "1GB", "1.5GiB" or "4096"
// (bytes). Units are case-sensitive as written by IEC (KiB = 1024) and SI
// (KB = 1000). The size must be positive.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	mult, ok := sizeUnits[unit]
	if !ok || num == "" {
		return 0, fmt.Errorf("%q is not a size; write a number with a unit such as \"512MiB\", \"1GiB\" or \"100MB\"", s)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size; write a number with a unit such as \"512MiB\"", s)
	}
	n := f * float64(mult)
	if n < 1 || n > math.MaxInt64/2 {
		return 0, fmt.Errorf("%q is out of range: a size must be at least 1 byte and at most 4 EiB", s)
	}
	return int64(n), nil
}

// size reads a byte size: a whole number of bytes or a string ParseSize
// accepts.
func (r reader) size(name string, dst *int64) bool {
	a, ok := r.attrs[name]
	if !ok {
		return false
	}
	v, diags := a.Expr.Value(nil)
	*r.diags = append(*r.diags, diags...)
	if diags.HasErrors() || v.IsNull() || !v.IsWhollyKnown() {
		return false
	}
	switch v.Type() {
	case cty.Number:
		n, acc := v.AsBigFloat().Int64()
		if acc != big.Exact || n < 1 {
			r.errorAt(a, a.Expr.Range(), "Invalid size", "%q must be a whole number of bytes of at least 1, or a string such as \"512MiB\".", name)
			return false
		}
		*dst = n
		return true
	case cty.String:
		n, err := ParseSize(v.AsString())
		if err != nil {
			r.errorAt(a, a.Expr.Range(), "Invalid size", "%s: %v.", name, err)
			return false
		}
		*dst = n
		return true
	}
	r.errorAt(a, a.Expr.Range(), "Incorrect attribute value type", "%q must be a size such as \"512MiB\"; got %s.", name, v.Type().FriendlyName())
	return false
}
