package httpapi

import (
	"sort"
	"strings"

	"github.com/vigilmon/vigil/registry/internal/store"
)

// sortNewestFirst orders releases by descending semantic version.
func sortNewestFirst(rs []store.Release) {
	sort.SliceStable(rs, func(i, j int) bool { return compareSemver(rs[i].Version, rs[j].Version) > 0 })
}

// compareSemver compares two valid semantic versions (release.ValidVersion)
// by semver 2.0 precedence: -1, 0 or +1. Build metadata is ignored.
func compareSemver(a, b string) int {
	a, _, _ = strings.Cut(a, "+")
	b, _, _ = strings.Cut(b, "+")
	ac, apre, _ := strings.Cut(a, "-")
	bc, bpre, _ := strings.Cut(b, "-")
	as, bs := strings.Split(ac, "."), strings.Split(bc, ".")
	for i := 0; i < 3 && i < len(as) && i < len(bs); i++ {
		if c := compareNumeric(as[i], bs[i]); c != 0 {
			return c
		}
	}
	switch {
	case apre == bpre:
		return 0
	case apre == "":
		return 1 // a release outranks its pre-releases
	case bpre == "":
		return -1
	}
	ap, bp := strings.Split(apre, "."), strings.Split(bpre, ".")
	for i := 0; i < len(ap) && i < len(bp); i++ {
		an, bn := numeric(ap[i]), numeric(bp[i])
		switch {
		case an && bn:
			if c := compareNumeric(ap[i], bp[i]); c != 0 {
				return c
			}
		case an:
			return -1 // numeric identifiers rank below alphanumeric ones
		case bn:
			return 1
		default:
			if c := strings.Compare(ap[i], bp[i]); c != 0 {
				return c
			}
		}
	}
	return compareInt(len(ap), len(bp))
}

// compareNumeric compares decimal strings without leading zeros, of any length.
func compareNumeric(a, b string) int {
	if c := compareInt(len(a), len(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func compareInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func numeric(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
