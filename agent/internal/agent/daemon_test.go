package agent

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/vigilmon/vigil/test/lptest"
	"github.com/vigilmon/vigil/test/syncbuf"
)

// daemonConfig is a fast-ticking agent with the counter plugin writing to
// a file output.
func daemonConfig(counterConfig, output string) string {
	return fmt.Sprintf(`
agent {
  node             = "n1"
  data_dir         = "data"
  interval         = "100ms"
  flush_interval   = "50ms"
  shutdown_timeout = "10s"
}
plugin "counter" {
  version = "0.1.0"
  config  = %s
}
output "file" { path = %q }
`, counterConfig, output)
}

func counterPoints(t *testing.T, a *agentDir, file string) int {
	return len(lptest.Filter(lptest.ReadLoose(t, a.path(file)), "counter", map[string]string{"plugin": "counter"}))
}

// pointsKeepArriving waits until the file has more counter points than now.
func pointsKeepArriving(t *testing.T, a *agentDir, file, when string) {
	t.Helper()
	n := counterPoints(t, a, file)
	eventually(t, "receiving counter points "+when, func() bool { return counterPoints(t, a, file) > n })
}

func logged(t *testing.T, logs *syncbuf.Buffer, line string) {
	t.Helper()
	eventually(t, "logging "+line, func() bool { return strings.Contains(logs.String(), line) })
}

// A reload with a broken configuration — bad syntax, or a plugin config
// the plugin rejects — leaves the running set alone.
func TestDaemonReloadKeepsOldSetOnBadConfig(t *testing.T) {
	a := newAgentDir(t, daemonConfig("{ points = 3 }", "points.lp"), "counter")
	opts, logs, stderr := a.options()
	d := startDaemon(t, opts)
	pointsKeepArriving(t, a, "points.lp", "at start")

	a.write("agent {\n  data_dir = \"data\"\n") // unclosed block
	d.signal(t, syscall.SIGHUP)
	logged(t, logs, "reload rejected: the new configuration is invalid; the previous one keeps running")
	if !strings.Contains(stderr.String(), "line 1") {
		t.Errorf("the syntax error is not reported with its line:\n%s", stderr)
	}
	pointsKeepArriving(t, a, "points.lp", "after a reload with a syntax error")

	a.write(daemonConfig("{ pionts = 3 }", "points.lp"))
	d.signal(t, syscall.SIGHUP)
	logged(t, logs, "reload rejected: the new plugin set did not validate; the previous one keeps running")
	if !strings.Contains(stderr.String(), "Unsupported config key") {
		t.Errorf("the plugin config error is not reported:\n%s", stderr)
	}
	pointsKeepArriving(t, a, "points.lp", "after a reload with a plugin config error")
	// The plugin started to validate the rejected config was stopped.
	if procs := pluginProcesses(t, a.dir); len(procs) != 1 {
		t.Errorf("plugin processes after the rejected reloads: %v, want the running counter only", procs)
	}

	d.signal(t, syscall.SIGTERM)
	if err := d.wait(t); err != nil {
		t.Fatalf("Daemon after SIGTERM: %v", err)
	}
	if strings.Contains(logs.String(), "configuration reloaded") {
		t.Errorf("a broken configuration was loaded:\n%s", logs)
	}
}

// A reload with a good configuration swaps to it: the old set is drained
// and stopped, the new one runs with its own config and outputs.
func TestDaemonReloadSwapsToGoodConfig(t *testing.T) {
	a := newAgentDir(t, daemonConfig("{ points = 3 }", "old.lp"), "counter")
	opts, logs, _ := a.options()
	d := startDaemon(t, opts)
	pointsKeepArriving(t, a, "old.lp", "at start")

	a.write(daemonConfig("{ points = 7 }", "new.lp"))
	d.signal(t, syscall.SIGHUP)
	logged(t, logs, "configuration reloaded")
	oldSize := fileSize(t, a.path("old.lp"))
	eventually(t, "receiving 7 points per call in new.lp", func() bool {
		for _, p := range lptest.Filter(lptest.ReadLoose(t, a.path("new.lp")), "counter", nil) {
			if p.Fields["value"] == 3.0 { // the 7th point of a call: 6 * 0.5
				return true
			}
		}
		return false
	})
	for _, p := range lptest.Filter(lptest.ReadLoose(t, a.path("old.lp")), "counter", nil) {
		if v, _ := p.Fields["value"].(float64); v > 1.0 {
			t.Fatalf("old.lp has a point of the new configuration: %+v", p)
		}
	}
	eventually(t, "left with one plugin process", func() bool { return len(pluginProcesses(t, a.dir)) == 1 })

	d.signal(t, syscall.SIGTERM)
	if err := d.wait(t); err != nil {
		t.Fatalf("Daemon after SIGTERM: %v", err)
	}
	if now := fileSize(t, a.path("old.lp")); now != oldSize {
		t.Errorf("old.lp grew from %d to %d bytes after the swap", oldSize, now)
	}
}

// SIGTERM drains: Daemon returns nil, the last points are flushed and no
// plugin is left running.
func TestDaemonSIGTERMDrains(t *testing.T) {
	a := newAgentDir(t, daemonConfig("{ points = 3 }", "points.lp"), "counter")
	opts, logs, _ := a.options()
	d := startDaemon(t, opts)
	pointsKeepArriving(t, a, "points.lp", "at start")
	d.signal(t, syscall.SIGTERM)
	if err := d.wait(t); err != nil {
		t.Fatalf("Daemon after SIGTERM: %v", err)
	}
	if procs := pluginProcesses(t, a.dir); len(procs) > 0 {
		t.Errorf("plugins still running after SIGTERM: %v", procs)
	}
	if !strings.Contains(logs.String(), "agent stopped") {
		t.Errorf("no \"agent stopped\" in the log:\n%s", logs)
	}
	// Everything gathered was written whole: counter points come three by
	// three, one call at a time.
	if n := counterPoints(t, a, "points.lp"); n%3 != 0 {
		t.Errorf("%d counter points, not a whole number of calls", n)
	}
}

// A second SIGTERM while a slow shutdown waits for a hung call forces it.
func TestDaemonSecondSignalForcesShutdown(t *testing.T) {
	a := newAgentDir(t, `
agent {
  node             = "n1"
  data_dir         = "data"
  interval         = "100ms"
  flush_interval   = "50ms"
  shutdown_timeout = "1m"
}
plugin "counter" {
  version = "0.1.0"
}
plugin "hang" {
  version = "0.1.0"
  timeout = "1m"
}
output "file" { path = "points.lp" }
`, "counter", "hang")
	opts, logs, _ := a.options()
	d := startDaemon(t, opts)
	// Counter points are flushed well after the hang plugin's first
	// collection (due within 10ms) started and got stuck.
	pointsKeepArriving(t, a, "points.lp", "at start")
	d.signal(t, syscall.SIGTERM)
	logged(t, logs, "shutting down")
	d.signal(t, syscall.SIGTERM)
	if err := d.wait(t); !errors.Is(err, ErrForced) {
		t.Fatalf("Daemon after a second SIGTERM: %v, want ErrForced", err)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
