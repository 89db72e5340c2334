package install

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Version is a semantic version (https://semver.org) without a leading
// "v". Build metadata is kept in String but ignored in comparisons.
type Version struct {
	Major, Minor, Patch int
	Pre                 []string // pre-release identifiers; nil for a release
	raw                 string
}

// String returns the version as it was parsed.
func (v Version) String() string { return v.raw }

// ParseVersion parses a full version "1.2.3", "1.2.3-rc.1" or "1.2.3+b5".
func ParseVersion(s string) (Version, error) {
	v, n, err := parseVersion(s)
	if err != nil {
		return Version{}, err
	}
	if n != 3 {
		return Version{}, fmt.Errorf("version %q: want major.minor.patch", s)
	}
	return v, nil
}

// parseVersion parses a version whose minor and patch may be missing
// ("1", "1.2"), returning how many numeric parts it had.
func parseVersion(s string) (Version, int, error) {
	v := Version{raw: s}
	rest, _, hasBuild := strings.Cut(s, "+")
	if hasBuild && !validIdents(s[len(rest)+1:], false) {
		return Version{}, 0, fmt.Errorf("version %q: invalid build metadata", s)
	}
	core, pre, hasPre := strings.Cut(rest, "-")
	if hasPre {
		if !validIdents(pre, true) {
			return Version{}, 0, fmt.Errorf("version %q: invalid pre-release", s)
		}
		v.Pre = strings.Split(pre, ".")
	}
	parts := strings.Split(core, ".")
	if len(parts) > 3 {
		return Version{}, 0, fmt.Errorf("version %q: too many parts", s)
	}
	nums := []*int{&v.Major, &v.Minor, &v.Patch}
	for i, p := range parts {
		if p == "" || len(p) > 9 || strings.Trim(p, "0123456789") != "" || (len(p) > 1 && p[0] == '0') {
			return Version{}, 0, fmt.Errorf("version %q: %q is not a number without leading zeros", s, p)
		}
		*nums[i], _ = strconv.Atoi(p)
	}
	if hasPre && len(parts) != 3 {
		return Version{}, 0, fmt.Errorf("version %q: a pre-release needs major.minor.patch", s)
	}
	return v, len(parts), nil
}

// validIdents checks dot-separated identifiers of [0-9A-Za-z-]; numeric
// pre-release identifiers must not have leading zeros.
func validIdents(s string, pre bool) bool {
	for _, id := range strings.Split(s, ".") {
		if id == "" {
			return false
		}
		for _, c := range id {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
				return false
			}
		}
		if pre && isNumeric(id) && len(id) > 1 && id[0] == '0' {
			return false
		}
	}
	return true
}

func isNumeric(s string) bool { return s != "" && strings.Trim(s, "0123456789") == "" }

// Compare orders v and o by semver precedence: -1, 0 or +1.
func (v Version) Compare(o Version) int {
	for _, d := range [][2]int{{v.Major, o.Major}, {v.Minor, o.Minor}, {v.Patch, o.Patch}} {
		if d[0] != d[1] {
			return cmpInt(d[0], d[1])
		}
	}
	switch {
	case len(v.Pre) == 0 && len(o.Pre) == 0:
		return 0
	case len(v.Pre) == 0:
		return 1
	case len(o.Pre) == 0:
		return -1
	}
	for i := 0; i < len(v.Pre) && i < len(o.Pre); i++ {
		a, b := v.Pre[i], o.Pre[i]
		an, bn := isNumeric(a), isNumeric(b)
		switch {
		case an && bn:
			x, _ := strconv.Atoi(a)
			y, _ := strconv.Atoi(b)
			if x != y {
				return cmpInt(x, y)
			}
		case an:
			return -1
		case bn:
			return 1
		case a != b:
			return strings.Compare(a, b)
		}
	}
	return cmpInt(len(v.Pre), len(o.Pre))
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Constraints is a comma-separated AND of version terms:
//
//	1.2.3       exactly 1.2.3 (also "= 1.2.3")
//	>= 1.2      at least 1.2.0 (also >, <, <=; missing parts are 0)
//	!= 1.2.4    anything but 1.2.4
//	~> 1.2      >= 1.2.0, < 2.0.0 (the last given part may grow)
//	~> 1.2.3    >= 1.2.3, < 1.3.0
//
// A pre-release version matches only when a term names it exactly
// (= or a bare version). The empty string allows every release.
type Constraints struct {
	raw   string
	terms []term
}

type term struct {
	op string // "=", "!=", ">", ">=", "<", "<=", "~>"
	v  Version
	n  int // numeric parts given
}

// ParseConstraints parses s; see Constraints.
func ParseConstraints(s string) (Constraints, error) {
	c := Constraints{raw: strings.TrimSpace(s)}
	if c.raw == "" {
		return c, nil
	}
	for _, part := range strings.Split(c.raw, ",") {
		t, err := parseTerm(strings.TrimSpace(part))
		if err != nil {
			return Constraints{}, fmt.Errorf("version constraint %q: %w", s, err)
		}
		c.terms = append(c.terms, t)
	}
	return c, nil
}

func parseTerm(s string) (term, error) {
	if s == "" {
		return term{}, errors.New("empty term: separate terms with one comma, such as \">= 1.2, < 2.0\"")
	}
	op := "="
	for _, o := range []string{"~>", ">=", "<=", "!=", ">", "<", "="} {
		if rest, ok := strings.CutPrefix(s, o); ok {
			op, s = o, strings.TrimSpace(rest)
			break
		}
	}
	v, n, err := parseVersion(s)
	if err != nil {
		return term{}, err
	}
	if (op == "=" || op == "!=") && n != 3 {
		return term{}, fmt.Errorf("%s %s: give major.minor.patch", op, s)
	}
	if op == "~>" && len(v.Pre) > 0 {
		return term{}, fmt.Errorf("~> %s: a pessimistic constraint takes a release version", s)
	}
	return term{op: op, v: v, n: n}, nil
}

// String returns the constraints as given, trimmed.
func (c Constraints) String() string { return c.raw }

// Exact returns the version when the constraints name exactly one, such
// as "1.2.3".
func (c Constraints) Exact() (string, bool) {
	if len(c.terms) == 1 && c.terms[0].op == "=" {
		return c.terms[0].v.raw, true
	}
	return "", false
}

// Allows reports whether v satisfies every term.
func (c Constraints) Allows(v Version) bool {
	if len(v.Pre) > 0 && !c.names(v) {
		return false
	}
	for _, t := range c.terms {
		if !t.allows(v) {
			return false
		}
	}
	return true
}

// names reports whether an = term names exactly v.
func (c Constraints) names(v Version) bool {
	for _, t := range c.terms {
		if t.op == "=" && t.v.Compare(v) == 0 {
			return true
		}
	}
	return false
}

func (t term) allows(v Version) bool {
	c := v.Compare(t.v)
	switch t.op {
	case "=":
		return c == 0
	case "!=":
		return c != 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	}
	// ~>: at least t.v, below the next value of the part before the last
	// one given (~> 1 and ~> 1.2 both stay below 2.0.0).
	if c < 0 {
		return false
	}
	if t.n == 3 {
		return v.Major == t.v.Major && v.Minor == t.v.Minor
	}
	return v.Major == t.v.Major
}

// NoMatchError is returned when no available version satisfies the
// constraints; Available lists what exists, newest first.
type NoMatchError struct {
	Plugin      string
	Constraints string
	Available   []string
}

func (e *NoMatchError) Error() string {
	if len(e.Available) == 0 {
		return fmt.Sprintf("%s has no installable versions", e.Plugin)
	}
	want := "no version of " + e.Plugin + " is available"
	if e.Constraints != "" {
		want = fmt.Sprintf("no version of %s matches %q", e.Plugin, e.Constraints)
	}
	return want + "; it has " + strings.Join(e.Available, ", ")
}

// Newest returns the newest of available (version strings; unparsable
// ones are skipped) that c allows, or a *NoMatchError naming plugin.
func Newest(plugin string, c Constraints, available []string) (string, error) {
	var best *Version
	var valid []Version
	for _, s := range available {
		v, err := ParseVersion(s)
		if err != nil {
			continue
		}
		valid = append(valid, v)
		if c.Allows(v) && (best == nil || v.Compare(*best) > 0) {
			best = &v
		}
	}
	if best != nil {
		return best.raw, nil
	}
	// Newest first, for the message.
	for i := 1; i < len(valid); i++ {
		for j := i; j > 0 && valid[j].Compare(valid[j-1]) > 0; j-- {
			valid[j], valid[j-1] = valid[j-1], valid[j]
		}
	}
	names := make([]string, len(valid))
	for i, v := range valid {
		names[i] = v.raw
	}
	return "", &NoMatchError{Plugin: plugin, Constraints: c.raw, Available: names}
}
