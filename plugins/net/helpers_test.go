package main

import (
	"net"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vigilmon/vigil/sdk"
)

func newPromise(t *testing.T, name string, values map[string]any) (sdk.Checker, error) {
	t.Helper()
	for _, p := range newManifest().Promises {
		if p.Name == name {
			return p.New(p.Schema.WithDefaults(sdk.NewConfig(values)))
		}
	}
	t.Fatalf("manifest has no promise %q", name)
	return nil, nil
}

func mustPromise(t *testing.T, name string, values map[string]any) sdk.Checker {
	t.Helper()
	c, err := newPromise(t, name, values)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var responseTime = regexp.MustCompile(`[0-9]+\.[0-9]{3} second`)

// normalize makes a result comparable: the response time in the message
// becomes "T second" and the value of the time perfdata 0, once checked
// to be a plausible number of seconds.
func normalize(t *testing.T, r sdk.Result) sdk.Result {
	t.Helper()
	r.Message = responseTime.ReplaceAllString(r.Message, "T second")
	for i, p := range r.Perfdata {
		if p.Label == "time" {
			if p.Value < 0 || (p.Max != nil && p.Value > *p.Max) {
				t.Errorf("time perfdata %v out of [0, %v]", p.Value, *p.Max)
			}
			r.Perfdata[i].Value = 0
		}
	}
	return r
}

func diffResult(t *testing.T, want, got sdk.Result) {
	t.Helper()
	if d := cmp.Diff(want, normalize(t, got)); d != "" {
		t.Errorf("result mismatch (-want +got):\n%s", d)
	}
}

func f64(v float64) *float64 { return &v }

// timePerf is the expected (normalized) time perfdata.
func timePerf(warn, crit string, timeout float64) sdk.Perfdata {
	return sdk.Perfdata{Label: "time", Unit: "s", Warn: warn, Crit: crit, Min: f64(0), Max: f64(timeout)}
}

// closedPort returns an address on 127.0.0.1 where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// silentListener accepts connections and never answers; it closes them
// when the test ends.
func silentListener(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return l.Addr().String()
}

func assertAttrError(t *testing.T, err error, path string) {
	t.Helper()
	d := sdk.AsDiagnostics(err)
	if len(d) == 0 {
		t.Fatalf("got no error, want a diagnostic about %s", path)
	}
	if len(d[0].Path) == 0 || d[0].Path[0] != path {
		t.Fatalf("diagnostic path = %v (%v), want [%s ...]", d[0].Path, err, path)
	}
}
