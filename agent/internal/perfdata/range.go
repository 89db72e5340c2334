package perfdata

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/vigilmon/vigil/sdk"
)

// ErrRangeFormat is returned (wrapped) by ParseRange for a string that is not
// a Nagios range. Its text is the one Nagios plugins print (hence the capital
// letter), which a caller turns into an UNKNOWN result.
var ErrRangeFormat = errors.New("Range format incorrect")

// Range is a Nagios threshold range: [@]start:end, where start defaults to 0,
// "~" means negative infinity, and an empty end means positive infinity.
type Range struct {
	Start, End float64 // inclusive bounds; may be infinite
	Inside     bool    // "@": alert when x is inside [Start, End] instead of outside
}

// ParseRange parses a Nagios threshold range such as "10", "10:", "~:10",
// "10:20" or "@10:20".
func ParseRange(s string) (Range, error) {
	orig := s
	s = strings.TrimSpace(s)
	var r Range
	if rest, ok := strings.CutPrefix(s, "@"); ok {
		r.Inside, s = true, rest
	}
	startStr, endStr, hasColon := strings.Cut(s, ":")
	if !hasColon {
		startStr, endStr = "", s
		if endStr == "" {
			return Range{}, fmt.Errorf("parsing range %q: %w", orig, ErrRangeFormat)
		}
	}
	var ok bool
	switch startStr {
	case "~":
		r.Start = math.Inf(-1)
	case "":
		r.Start = 0
	default:
		if r.Start, ok = parseRangeNumber(startStr); !ok {
			return Range{}, fmt.Errorf("parsing range %q: %w", orig, ErrRangeFormat)
		}
	}
	if endStr == "" {
		r.End = math.Inf(1)
	} else if r.End, ok = parseRangeNumber(endStr); !ok {
		return Range{}, fmt.Errorf("parsing range %q: %w", orig, ErrRangeFormat)
	}
	if r.Start > r.End {
		return Range{}, fmt.Errorf("parsing range %q: start is greater than end: %w", orig, ErrRangeFormat)
	}
	return r, nil
}

func parseRangeNumber(s string) (float64, bool) {
	if scanNumber(s) != len(s) {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

// Alert reports whether x triggers the threshold: outside [Start, End], or
// inside it for an "@" range.
func (r Range) Alert(x float64) bool {
	in := r.Start <= x && x <= r.End
	if r.Inside {
		return in
	}
	return !in && !math.IsNaN(x)
}

// Evaluate applies Nagios's -w/-c thresholds to x, critical first. An empty
// threshold is not checked. A malformed one gives UNKNOWN and the error.
func Evaluate(x float64, warn, crit string) (sdk.Status, error) {
	var w, c *Range
	for _, t := range []struct {
		s   string
		dst **Range
	}{{crit, &c}, {warn, &w}} {
		if t.s == "" {
			continue
		}
		r, err := ParseRange(t.s)
		if err != nil {
			return sdk.Unknown, err
		}
		*t.dst = &r
	}
	switch {
	case c != nil && c.Alert(x):
		return sdk.Critical, nil
	case w != nil && w.Alert(x):
		return sdk.Warning, nil
	}
	return sdk.OK, nil
}
