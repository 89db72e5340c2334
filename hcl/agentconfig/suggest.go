package agentconfig

import (
	"fmt"
	"strings"
)

// DidYouMean returns ` Did you mean "x"?` for the candidate closest to
// given, or "" when none is close. Earlier candidates win ties, as in hcl's
// own suggestions for arguments and block types.
func DidYouMean(given string, candidates []string) string {
	best, bestDist := "", 3 // hcl's threshold: a distance of 3 or more is no suggestion
	for _, c := range candidates {
		if strings.EqualFold(given, c) {
			return fmt.Sprintf(" Did you mean %q?", c)
		}
		if d := levenshtein(given, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" Did you mean %q?", best)
}

// levenshtein is the edit distance between a and b, counted in runes.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// quotedList renders names as `"a", "b" or "c"` for a diagnostic's detail.
func quotedList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	switch len(q) {
	case 0:
		return "(none)"
	case 1:
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}
