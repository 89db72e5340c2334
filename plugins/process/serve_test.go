package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vigilmon/vigil/sdk"
	"github.com/vigilmon/vigil/sdk/host"
	"github.com/vigilmon/vigil/sdk/metric"
	"github.com/vigilmon/vigil/sdk/sdktest"
)

// The plugin as the agent sees it: served over gRPC in-process, then as a
// built binary launched through go-plugin.
func TestServe(t *testing.T) {
	checkServed(t, sdktest.Serve(t, newManifest()))
}

func TestServeSubprocess(t *testing.T) {
	p := sdktest.Start(t, sdktest.Build(t, "."), sdktest.Options{})
	if d := cmp.Diff([]string{"process", "0.1.0"}, []string{p.Info().Name, p.Info().Version}); d != "" {
		t.Errorf("manifest mismatch (-want +got):\n%s", d)
	}
	checkServed(t, p)
}

func checkServed(t *testing.T, p *sdktest.Plugin) {
	t.Helper()
	res, err := p.Check("running", map[string]any{"proc_root": "testdata/proc", "names": []string{"nosuchproc"}})
	if err != nil {
		t.Fatal(err)
	}
	want := sdk.Result{Status: sdk.Critical, Message: "PROCS CRITICAL: 0 processes with command name 'nosuchproc'", Perfdata: procsPerf(0, "1:")}
	if d := cmp.Diff(want, res); d != "" {
		t.Errorf("result mismatch (-want +got):\n%s", d)
	}

	pts, err := p.Collect("process", map[string]any{"proc_root": "testdata/proc", "names": []string{"redis"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range pts {
		pts[i].Time = testTime // the host stamps the gather's own time
	}
	diffPoints(t, []metric.Point{lookupPoint("redis", 0)}, pts)

	diags, err := p.Configure(host.Promise, "running", map[string]any{"cmdline": "(unclosed"})
	if err != nil {
		t.Fatal(err)
	}
	var paths [][]string
	for _, d := range diags {
		paths = append(paths, d.Path)
	}
	if d := cmp.Diff([][]string{{"cmdline"}}, paths); d != "" {
		t.Errorf("diagnostic paths mismatch (-want +got):\n%s", d)
	}
}
