package agent

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/test/lptest"
	"github.com/vigilmon/vigil/test/syncbuf"
)

// Points from a plugin and from an executable promise reach the file
// output, with the node tag on every point.
func TestOncePluginAndExecPromiseReachFileOutput(t *testing.T) {
	a := newAgentDir(t, `
agent {
  node     = "n1"
  data_dir = "data"
  tags     = { site = "test" }
}
plugin "counter" {
  version = "0.1.0"
  config  = { points = 4 }
}
promise "shell" {
  command = ["/bin/sh", "-c", "echo 'WARNING - almost | load=7;5;10'; exit 1"]
}
output "file" { path = "points.lp" }
`, "counter")
	opts, logs, stderr := a.options()
	if err := Once(context.Background(), opts, false); err != nil {
		t.Fatalf("Once: %v\nstderr:\n%s\nlogs:\n%s", err, stderr, logs)
	}
	pts := lptest.ReadLoose(t, a.path("points.lp"))
	var seqs []any
	for _, p := range lptest.Filter(pts, "counter", map[string]string{"plugin": "counter"}) {
		seqs = append(seqs, p.Fields["seq"])
	}
	if d := cmp.Diff([]any{1.0, 2.0, 3.0, 4.0}, seqs); d != "" {
		t.Errorf("counter points (-want +got):\n%s", d)
	}
	type promisePoint struct {
		Status  any
		Message any
		Plugin  string
	}
	var got []promisePoint
	for _, p := range lptest.Filter(pts, "promise", map[string]string{"promise": "shell"}) {
		got = append(got, promisePoint{p.Fields["status"], p.Fields["message"], p.Tags["plugin"]})
	}
	if d := cmp.Diff([]promisePoint{{int64(1), "WARNING - almost", "exec"}}, got); d != "" {
		t.Errorf("promise points (-want +got):\n%s", d)
	}
	if pd := lptest.Filter(pts, "perfdata", map[string]string{"promise": "shell", "label": "load"}); len(pd) != 1 || pd[0].Fields["value"] != 7.0 {
		t.Errorf("perfdata points: %+v", pd)
	}
	if up := lptest.Filter(pts, "vigil_plugin", map[string]string{"plugin": "counter"}); len(up) != 1 || up[0].Fields["up"] != int64(1) {
		t.Errorf("internal vigil_plugin points: %+v", up)
	}
	for _, p := range pts {
		if p.Tags["node"] != "n1" || p.Tags["site"] != "test" || p.Tags["plugin"] == "" {
			t.Errorf("point without node, site or plugin tag: %+v", p)
		}
	}
	if procs := pluginProcesses(t, a.dir); len(procs) > 0 {
		t.Errorf("plugins still running after Once: %v", procs)
	}
}

// A plugin that cannot start makes Once fail, naming it, while the other
// plugins' points still arrive.
func TestOnceReportsPluginThatFailsToStart(t *testing.T) {
	a := newAgentDir(t, `
agent {
  node     = "n1"
  data_dir = "data"
}
plugin "counter" {
  version = "0.1.0"
}
plugin "noisy" {
  version = "0.1.0"
}
output "file" { path = "points.lp" }
`, "counter")
	a.placeByHand("noisy", "0.1.0")
	opts, _, stderr := a.options()
	err := Once(context.Background(), opts, false)
	if err == nil || !strings.Contains(err.Error(), "plugin noisy did not start") {
		t.Fatalf("Once: %v, want an error naming noisy", err)
	}
	if strings.Contains(err.Error(), "counter") {
		t.Errorf("error blames counter too: %v", err)
	}
	for _, want := range []string{"Plugin failed to start", "agent.hcl line 9"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	pts := lptest.ReadLoose(t, a.path("points.lp"))
	if n := len(lptest.Filter(pts, "counter", nil)); n != 3 {
		t.Errorf("%d counter points, want 3", n)
	}
	if up := lptest.Filter(pts, "vigil_plugin", map[string]string{"plugin": "noisy"}); len(up) != 1 || up[0].Fields["up"] != int64(0) {
		t.Errorf("noisy's vigil_plugin points: %+v", up)
	}
}

// A plugin configuration the plugin's schema rejects is a diagnostic that
// points into agent.hcl.
func TestOncePluginConfigErrorIsDiagnosed(t *testing.T) {
	a := newAgentDir(t, `agent {
  data_dir = "data"
}
plugin "counter" {
  version = "0.1.0"
  config  = { pionts = 3 }
}
output "file" { path = "points.lp" }
`, "counter")
	opts, _, stderr := a.options()
	err := Once(context.Background(), opts, false)
	if err == nil || !strings.Contains(err.Error(), "counter") {
		t.Fatalf("Once: %v, want an error naming counter", err)
	}
	for _, want := range []string{
		"Error: ",
		`on ` + a.conf + ` line 6, in plugin "counter"`,
		`config  = { pionts = 3 }`,
		`"points"`, // did you mean
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if n := len(lptest.Filter(lptest.ReadLoose(t, a.path("points.lp")), "counter", nil)); n != 0 {
		t.Errorf("%d counter points from a plugin whose config is wrong", n)
	}
}

func TestOnceConfigSyntaxErrorIsErrConfig(t *testing.T) {
	a := newAgentDir(t, "agent {\n  data_dir = \"data\"\n")
	opts, _, stderr := a.options()
	if err := Once(context.Background(), opts, false); !errors.Is(err, ErrConfig) {
		t.Fatalf("Once: %v, want ErrConfig", err)
	}
	if !strings.Contains(stderr.String(), "line 1") {
		t.Errorf("stderr does not point at the file:\n%s", stderr)
	}
}

// --test prints the points on stdout and writes nothing to the outputs.
func TestOnceTestModeWritesStdoutOnly(t *testing.T) {
	a := newAgentDir(t, `
agent {
  node     = "n1"
  data_dir = "data"
}
plugin "counter" {
  version = "0.1.0"
}
output "file" { path = "points.lp" }
`, "counter")
	opts, _, _ := a.options()
	out := &syncbuf.Buffer{}
	opts.Stdout = out
	if err := Once(context.Background(), opts, true); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count("\n"+out.String(), "\ncounter,"); n != 3 {
		t.Errorf("stdout has %d counter lines, want 3:\n%s", n, out)
	}
	if strings.Contains(out.String(), "vigil_plugin") {
		t.Errorf("--test printed internal metrics:\n%s", out)
	}
	if pts := lptest.ReadLoose(t, a.path("points.lp")); len(pts) != 0 {
		t.Errorf("--test wrote %d points to the file output", len(pts))
	}
}

// A collector's own timeout ends its call without declaring the plugin
// hung: only the plugin-level timeout kills and restarts a plugin.
func TestCollectorTimeoutIsNotAHang(t *testing.T) {
	a := newAgentDir(t, `
agent {
  node     = "n1"
  data_dir = "data"
}
plugin "hang" {
  version = "0.1.0"
  timeout = "1m"
  collector "stuck" {
    timeout = "300ms"
  }
}
output "file" { path = "points.lp" }
`, "hang")
	opts, _, _ := a.options()
	err := Once(context.Background(), opts, false)
	if err == nil || !strings.Contains(err.Error(), "hang/collector.stuck") {
		t.Fatalf("Once: %v, want the stuck collector's failure", err)
	}
	pts := lptest.Filter(lptest.ReadLoose(t, a.path("points.lp")), "vigil_plugin", map[string]string{"plugin": "hang"})
	if len(pts) != 1 || pts[0].Fields["call_errors"] != int64(1) || pts[0].Fields["timeouts"] != int64(0) {
		t.Errorf("hang's health: %+v, want one call error and no hang timeout", pts)
	}
}
