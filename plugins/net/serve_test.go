package main

import (
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vigilmon/vigil/sdk"
	"github.com/vigilmon/vigil/sdk/host"
	"github.com/vigilmon/vigil/sdk/sdktest"
)

// The plugin as the agent sees it: served over gRPC in-process, then as a
// built binary launched through go-plugin.
func TestServe(t *testing.T) {
	checkServed(t, sdktest.Serve(t, newManifest()))
}

func TestServeSubprocess(t *testing.T) {
	p := sdktest.Start(t, sdktest.Build(t, "."), sdktest.Options{})
	if d := cmp.Diff([]string{"net", "0.1.0"}, []string{p.Info().Name, p.Info().Version}); d != "" {
		t.Errorf("manifest mismatch (-want +got):\n%s", d)
	}
	checkServed(t, p)
}

func checkServed(t *testing.T, p *sdktest.Plugin) {
	t.Helper()
	srv := httptest.NewServer(testMux())
	defer srv.Close()
	res, err := p.Check("http", map[string]any{"url": srv.URL + "/", "body_match": "world"})
	if err != nil {
		t.Fatal(err)
	}
	diffResult(t, sdk.Result{
		Status:   sdk.OK,
		Message:  "HTTP OK: HTTP/1.1 200 OK - 11 bytes in T second response time",
		Perfdata: []sdk.Perfdata{timePerf("", "", 10), sizePerf(11)},
	}, res)

	res, err = p.Check("tcp", map[string]any{"address": closedPort(t)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != sdk.Critical {
		t.Errorf("tcp to a closed port: %v %q, want CRITICAL", res.Status, res.Message)
	}

	diags, err := p.Configure(host.Promise, "http", map[string]any{"timeout": "soon"})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, d := range diags {
		paths = append(paths, strings.Join(d.Path, "."))
	}
	sort.Strings(paths)
	// The SDK checks the schema (a required url, a duration) before New.
	if d := cmp.Diff([]string{"timeout", "url"}, paths); d != "" {
		t.Errorf("diagnostic paths mismatch (-want +got):\n%s", d)
	}
}
