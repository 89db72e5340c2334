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
	p := sdktest.Serve(t, newManifest())
	checkServed(t, p)
}

func TestServeSubprocess(t *testing.T) {
	p := sdktest.Start(t, sdktest.Build(t, "."), sdktest.Options{})
	if d := cmp.Diff([]string{"system", "0.1.0"}, []string{p.Info().Name, p.Info().Version}); d != "" {
		t.Errorf("manifest mismatch (-want +got):\n%s", d)
	}
	checkServed(t, p)
}

func checkServed(t *testing.T, p *sdktest.Plugin) {
	t.Helper()
	pts, err := p.Collect("load", map[string]any{"proc_root": "testdata/proc"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range pts {
		pts[i].Time = testTime // the host stamps the gather's own time
	}
	diffPoints(t, []metric.Point{point("system", nil, map[string]any{
		"load1": 0.5, "load5": 1.25, "load15": 2.0,
		"n_cpus": int64(2), "procs_running": int64(3), "procs_total": int64(456),
	})}, pts)

	diags, err := p.Configure(host.Collector, "net", map[string]any{"net_interfaces": []string{"eth*", "[x"}})
	if err != nil {
		t.Fatal(err)
	}
	var paths [][]string
	for _, d := range diags {
		if d.Severity == sdk.SeverityError {
			paths = append(paths, d.Path)
		}
	}
	if d := cmp.Diff([][]string{{"net_interfaces", "1"}}, paths); d != "" {
		t.Errorf("diagnostic paths mismatch (-want +got):\n%s", d)
	}
}
