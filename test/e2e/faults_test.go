package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigilmon/vigil/test/lptest"
)

// Bad plugins — one panics on its second call, one hangs, one writes to
// stdout before the handshake, one is tampered with after locking — must
// each be reported clearly while the healthy plugin's points keep arriving.
func TestFaultyPluginsNeverStopTheHealthyOne(t *testing.T) {
	a := newAgentDir(t, `
agent {
  node     = "e2e"
  interval = "1s"
  data_dir = "data"
  shutdown_timeout = "5s"
}
plugin "counter" {
  version  = "0.1.0"
  collect  = ["seq"]
  interval = "300ms"
}
plugin "panicky" {
  version  = "0.1.0"
  interval = "300ms"
}
plugin "hang" {
  version  = "0.1.0"
  interval = "300ms"
  timeout  = "1s"
}
plugin "noisy" {
  version = "0.1.0"
}
plugin "system" {
  version  = "0.1.0"
  collect = ["load"]
  interval = "300ms"
}
output "file" { path = "points.lp" }
`, "counter", "panicky", "hang", "system")
	// noisy cannot be installed the normal way (install starts it to read
	// its manifest, and its handshake is broken): place and lock it by hand.
	a.placeByHand("noisy", "0.1.0")
	// Tamper with the system plugin after it was locked.
	sys := a.path("data/plugins/system/0.1.0/vigil-plugin-system")
	f, err := os.OpenFile(sys, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("tampered"))
	f.Close()

	cmd := exec.Command(bins.Path(t, "vigil"), "agent", "--config", a.conf, "--log-level", "debug")
	cmd.Dir = a.dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Let it run long enough for several panics, hangs and restarts
	// (bounded: the test stops the agent itself).
	deadline := time.Now().Add(60 * time.Second)
	for {
		data, _ := os.ReadFile(a.path("points.lp"))
		pts := lptest.DecodeLoose(t, data)
		restarted := anyField(pts, "vigil_plugin", "panicky", "restarts", func(v int64) bool { return v >= 1 })
		hangKilled := anyField(pts, "vigil_plugin", "hang", "timeouts", func(v int64) bool { return v >= 1 }) &&
			anyField(pts, "vigil_plugin", "hang", "restarts", func(v int64) bool { return v >= 1 })
		counter := len(lptest.Filter(pts, "counter", nil))
		if restarted && hangKilled && counter >= 30 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("after 60s: panicky restarted=%v hang killed+restarted=%v counter points=%d\nstderr:\n%s", restarted, hangKilled, counter, stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Healthy points keep coming while the bad ones misbehave: count now,
	// then again a moment later.
	before := len(lptest.Filter(lptest.DecodeLoose(t, mustRead(t, a.path("points.lp"))), "counter", nil))
	time.Sleep(1500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("agent exit after SIGTERM: %v\n%s", err, stderr.String())
	}
	pts := lptest.DecodeLoose(t, mustRead(t, a.path("points.lp")))
	after := len(lptest.Filter(pts, "counter", nil))
	if after <= before {
		t.Errorf("healthy counter plugin stalled: %d points before, %d after", before, after)
	}
	log := stderr.String()
	for _, want := range []string{
		"Plugin binary does not match the lock file", // tampered
		"vigil-plugin-system has sha256:",            // names the file and the hash
		"Plugin failed to start",                     // noisy
		"did not answer within 1s",                   // hang
	} {
		if !strings.Contains(log, want) {
			t.Errorf("agent output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("agent output:\n%s", log)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
