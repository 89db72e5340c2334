package install

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var available = []string{"0.9.0", "1.0.0", "1.2.0", "1.2.3", "1.2.4", "1.2.5-rc.1", "1.3.0", "2.0.0-beta.1", "2.0.0", "2.1.0"}

func TestNewest(t *testing.T) {
	for _, tc := range []struct {
		name, constraint, want string
	}{
		{"empty is the newest release", "", "2.1.0"},
		{"exact", "1.2.3", "1.2.3"},
		{"exact with equals", "= 1.0.0", "1.0.0"},
		{"range", ">= 1.2, < 2.0", "1.3.0"},
		{"pessimistic minor", "~> 1.2", "1.3.0"},
		{"pessimistic patch", "~> 1.2.3", "1.2.4"},
		{"pessimistic major", "~> 1", "1.3.0"},
		{"not equal", "~> 1.2.3, != 1.2.4", "1.2.3"},
		{"greater", "> 2.0.0", "2.1.0"},
		{"at most", "<= 1.2.4", "1.2.4"},
		{"below", "< 1.0", "0.9.0"},
		{"pre-release named exactly", "1.2.5-rc.1", "1.2.5-rc.1"},
		{"pre-release not picked by a range", ">= 1.2.4, < 1.3", "1.2.4"},
		{"pre-release below its release", ">= 2.0.0-beta.1, < 2.1", "2.0.0"},
		{"spaces are optional", ">=1.2,<1.3", "1.2.4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConstraints(tc.constraint)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Newest("hello", c, available)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Newest(%q) = %s, want %s", tc.constraint, got, tc.want)
			}
		})
	}
}

func TestNewestNoMatch(t *testing.T) {
	c, err := ParseConstraints("~> 3.0")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Newest("hello", c, []string{"1.0.0", "2.0.0", "1.5.0"})
	var nm *NoMatchError
	if !errors.As(err, &nm) {
		t.Fatalf("got %v, want a *NoMatchError", err)
	}
	want := `no version of hello matches "~> 3.0"; it has 2.0.0, 1.5.0, 1.0.0`
	if err.Error() != want {
		t.Errorf("got %q\nwant %q", err.Error(), want)
	}
	_, err = Newest("hello", Constraints{}, nil)
	if want := "hello has no installable versions"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

func TestParseConstraintsErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"empty term", ">= 1.0,", `version constraint ">= 1.0,": empty term: separate terms with one comma, such as ">= 1.2, < 2.0"`},
		{"partial exact", "1.2", `version constraint "1.2": = 1.2: give major.minor.patch`},
		{"leading zero", ">= 01.2", `version constraint ">= 01.2": version "01.2": "01" is not a number without leading zeros`},
		{"leading v", "v1.2.3", `version constraint "v1.2.3": version "v1.2.3": "v1" is not a number without leading zeros`},
		{"unknown operator", "=> 1.2", `version constraint "=> 1.2": version "> 1.2": "> 1" is not a number without leading zeros`},
		{"pessimistic pre-release", "~> 1.2.3-rc.1", `version constraint "~> 1.2.3-rc.1": ~> 1.2.3-rc.1: a pessimistic constraint takes a release version`},
		{"too many parts", "1.2.3.4", `version constraint "1.2.3.4": version "1.2.3.4": too many parts`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConstraints(tc.in)
			if err == nil || err.Error() != tc.want {
				t.Errorf("got %v\nwant %s", err, tc.want)
			}
		})
	}
}

func TestVersionCompare(t *testing.T) {
	// semver.org's precedence example, in order.
	order := []string{"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0"}
	for i := range order {
		for j := range order {
			a, _ := ParseVersion(order[i])
			b, err := ParseVersion(order[j])
			if err != nil {
				t.Fatal(err)
			}
			if got, want := a.Compare(b), cmpInt(i, j); got != want {
				t.Errorf("%s vs %s = %d, want %d", order[i], order[j], got, want)
			}
		}
	}
	a, _ := ParseVersion("1.0.0+build.1")
	b, _ := ParseVersion("1.0.0")
	if d := cmp.Diff(0, a.Compare(b)); d != "" {
		t.Errorf("build metadata counts (-want +got):\n%s", d)
	}
}

func FuzzParseConstraints(f *testing.F) {
	for _, s := range []string{"", "1.2.3", ">= 1.2, < 2.0", "~> 1.2", "~> 1.2.3", "!= 1.2.4", "1.2.3-rc.1+b", ",", "~>", ">=1,<=2.0.0-x"} {
		f.Add(s, "1.2.3")
	}
	f.Fuzz(func(t *testing.T, s, version string) {
		c, err := ParseConstraints(s)
		if err != nil {
			return
		}
		// Whatever parses reparses from its String to the same answers.
		again, err := ParseConstraints(c.String())
		if err != nil {
			t.Fatalf("%q parsed but its String %q does not: %v", s, c.String(), err)
		}
		v, err := ParseVersion(version)
		if err != nil {
			return
		}
		if c.Allows(v) != again.Allows(v) {
			t.Fatalf("%q and its String disagree on %s", s, version)
		}
		if got, err := Newest("p", c, []string{version}); err == nil && got != version {
			t.Fatalf("Newest = %q, want %q", got, version)
		}
	})
}
