package supervisor

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/sdk"
	"github.com/vigilmon/vigil/sdk/host"
	"github.com/vigilmon/vigil/sdk/metric"
)

var seqInstance = host.Instance{ID: "collector.seq", Kind: host.Collector, Method: "seq", Config: []byte(`{"points":5,"series":1}`)}

func TestStartReturnsManifest(t *testing.T) {
	s, _ := newSup(t, "counter", nil)
	info := start(t, s)
	type method struct {
		Name   string
		Schema sdk.Schema
	}
	got := struct {
		Name, Version string
		Protocol      int
		Collectors    []method
	}{info.Name, info.Version, info.ProtocolVersion, nil}
	for _, c := range info.Collectors {
		got.Collectors = append(got.Collectors, method{c.Name, c.Schema})
	}
	want := got
	want.Name, want.Version, want.Protocol = "counter", "0.1.0", sdk.ProtocolVersion
	want.Collectors = []method{{"seq", sdk.Schema{
		{Name: "points", Type: sdk.TypeNumber, Default: float64(3), Description: "points per call"},
		{Name: "series", Type: sdk.TypeNumber, Default: float64(1), Description: "distinct series"},
	}}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("manifest (-want +got):\n%s", d)
	}
	if h := s.Health(); !h.Up || h.Restarts != 0 || h.StartFailures != 0 {
		t.Errorf("health after Start: %+v", h)
	}
	if i, ok := s.Info(); !ok || i.Name != "counter" {
		t.Errorf("Info() = %+v, %v", i, ok)
	}
}

// A binary whose hash is not the locked one is refused and never runs; the
// same binary with its right hash does run (so the marker proves it).
func TestChecksumMismatchIsNeverExecuted(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	bin := filepath.Join(dir, "vigil-plugin-counter")
	markerScript(t, bin, marker)
	wrong := sha256.Sum256([]byte("the binary that was locked"))

	s, _ := newSup(t, "counter", func(sp *Spec) { sp.Path, sp.SHA256 = bin, wrong[:] })
	_, err := s.Start(context.Background())
	if !errors.Is(err, host.ErrChecksum) {
		t.Fatalf("Start: %v, want an error wrapping host.ErrChecksum", err)
	}
	if !strings.Contains(err.Error(), bin) {
		t.Errorf("error %q does not name the binary", err)
	}
	noFile(t, marker, "the binary ran despite the checksum mismatch")
	if h := s.Health(); h.Up || h.StartFailures != 1 || h.LastError != err.Error() {
		t.Errorf("health after a refused start: %+v", h)
	}

	// Control: with its own hash the script is executed (and fails the
	// handshake, not the checksum).
	ok, _ := newSup(t, "counter", func(sp *Spec) { sp.Path, sp.SHA256 = bin, fileSum(t, bin) })
	if _, err := ok.Start(context.Background()); err == nil || errors.Is(err, host.ErrChecksum) {
		t.Fatalf("Start of a verified non-plugin: %v", err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the verified script did not run: %v", err)
	}
}

func TestIdentityMismatchIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name, specName, specVersion string
		want                        string
	}{
		{"other name", "gauge", "0.1.0", `says it is "counter", not "gauge"`},
		{"other version", "counter", "9.9.9", "says it is version 0.1.0, but version 9.9.9 is configured"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newSup(t, "counter", func(sp *Spec) { sp.Name, sp.Version = tc.specName, tc.specVersion })
			_, err := s.Start(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Start: %v, want an error containing %q", err, tc.want)
			}
			if _, ok := s.Info(); ok {
				t.Error("Info() reports a plugin after a refused start")
			}
			if h := s.Health(); h.Up || h.StartFailures != 1 {
				t.Errorf("health: %+v", h)
			}
			if _, err := collect(s, "collector.seq"); !errors.Is(err, ErrDown) {
				t.Errorf("Collect after a refused start: %v, want ErrDown", err)
			}
		})
	}
}

func TestCallsBeforeStartAreDown(t *testing.T) {
	s, _ := newSup(t, "counter", nil)
	if _, err := collect(s, "collector.seq"); !errors.Is(err, ErrDown) {
		t.Errorf("Collect: %v, want ErrDown", err)
	}
	if _, err := s.Check(context.Background(), "promise.x"); !errors.Is(err, ErrDown) {
		t.Errorf("Check: %v, want ErrDown", err)
	}
	if _, err := s.Configure(context.Background(), []host.Instance{seqInstance}); !errors.Is(err, ErrDown) {
		t.Errorf("Configure: %v, want ErrDown", err)
	}
	if s.Launches() != 0 {
		t.Errorf("%d launches without Start", s.Launches())
	}
}

// A plugin killed from outside is restarted by Run with the instances
// configured before.
func TestKilledPluginIsRestartedAndReconfigured(t *testing.T) {
	s, _ := newSup(t, "counter", nil)
	start(t, s)
	configure(t, s, seqInstance)
	pts, err := collect(s, "collector.seq")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]float64{1, 2, 3, 4, 5}, seqs(pts)); d != "" {
		t.Fatalf("first collect (-want +got):\n%s", d)
	}
	run(t, s)
	old := pid(t, s)
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, s, "restarted once", func() bool { h := s.Health(); return h.Up && h.Restarts == 1 })
	if now := pid(t, s); now == old {
		t.Fatalf("still pid %d after the restart", now)
	}
	waitGone(t, old)
	// A fresh process, configured again: the sequence starts over.
	pts, err = collect(s, "collector.seq")
	if err != nil {
		t.Fatalf("collect after restart: %v", err)
	}
	if d := cmp.Diff([]float64{1, 2, 3, 4, 5}, seqs(pts)); d != "" {
		t.Errorf("collect after restart (-want +got):\n%s", d)
	}
	if h := s.Health(); h.StartFailures != 0 || h.LastError != "plugin process exited" || s.Launches() != 2 {
		t.Errorf("health: %+v, launches %d", h, s.Launches())
	}
}

func TestPanickyPluginIsRestartedAndKeepsWorking(t *testing.T) {
	s, _ := newSup(t, "panicky", nil)
	start(t, s)
	tick := host.Instance{ID: "collector.tick", Kind: host.Collector, Method: "tick", Config: []byte(`{}`)}
	configure(t, s, tick)
	run(t, s)
	calls := func() []any {
		t.Helper()
		pts, err := collect(s, "collector.tick")
		if err != nil {
			t.Fatalf("collect: %v", err)
		}
		var out []any
		for _, p := range pts {
			out = append(out, p.Fields["call"])
		}
		return out
	}
	for round := int64(1); round <= 2; round++ {
		if d := cmp.Diff([]any{int64(1)}, calls()); d != "" {
			t.Fatalf("round %d, first call (-want +got):\n%s", round, d)
		}
		if _, err := collect(s, "collector.tick"); err == nil {
			t.Fatalf("round %d: the second call (a panic) did not fail", round)
		}
		waitFor(t, s, "restarted", func() bool { h := s.Health(); return h.Up && h.Restarts == round })
	}
	if d := cmp.Diff([]any{int64(1)}, calls()); d != "" {
		t.Fatalf("after two restarts (-want +got):\n%s", d)
	}
	if h := s.Health(); h.Calls != 5 || h.CallErrors != 2 || h.Timeouts != 0 {
		t.Errorf("health: %+v", h)
	}
}

func TestHangingCallIsTimedOutKilledAndRestarted(t *testing.T) {
	s, logs := newSup(t, "hang", func(sp *Spec) { sp.CallTimeout = 500 * time.Millisecond })
	start(t, s)
	configure(t, s, host.Instance{ID: "collector.stuck", Kind: host.Collector, Method: "stuck", Config: []byte(`{}`)})
	run(t, s)
	old := pid(t, s)
	_, err := collect(s, "collector.stuck")
	if err == nil || !strings.Contains(err.Error(), "did not answer within 500ms") {
		t.Fatalf("collect: %v, want a timeout error", err)
	}
	if h := s.Health(); h.Timeouts != 1 || h.CallErrors != 1 || h.Calls != 1 {
		t.Errorf("health after the timeout: %+v", h)
	}
	waitGone(t, old)
	waitFor(t, s, "restarted", func() bool { h := s.Health(); return h.Up && h.Restarts == 1 })
	if now := pid(t, s); now == old {
		t.Errorf("same pid %d after the restart", now)
	}
	if !strings.Contains(logs.String(), "plugin call timed out; killing the plugin") {
		t.Errorf("no kill in the log:\n%s", logs)
	}
}

// Replacing the binary after Start makes every restart fail the checksum:
// Run keeps trying with growing, jittered waits, the tampered file never
// runs, calls fail fast with ErrDown, and putting the right binary back
// heals it.
func TestRestartBackoffAndTamperedBinary(t *testing.T) {
	bin := copyBin(t, "counter")
	s, logs := newSup(t, "counter", func(sp *Spec) { sp.Path, sp.SHA256 = bin, fileSum(t, bin) })
	var mu sync.Mutex
	var bounds, waits []time.Duration
	s.jitter = func(bound time.Duration) time.Duration {
		w := fullJitter(bound)
		mu.Lock()
		bounds, waits = append(bounds, bound), append(waits, w)
		mu.Unlock()
		return w
	}
	start(t, s)
	configure(t, s, seqInstance)
	run(t, s)

	good, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(t.TempDir(), "tampered-ran")
	markerScript(t, bin, marker)
	old := pid(t, s)
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, s, "failing restarts", func() bool { return s.Health().StartFailures >= 7 })

	h := s.Health()
	if h.Up || h.Restarts != 0 || !strings.Contains(h.LastError, host.ErrChecksum.Error()) {
		t.Errorf("health while tampered: %+v", h)
	}
	if _, err := collect(s, "collector.seq"); !errors.Is(err, ErrDown) {
		t.Errorf("collect while down: %v, want ErrDown", err)
	}
	if !strings.Contains(logs.String(), "restarting plugin failed") {
		t.Errorf("failed restarts not logged:\n%s", logs)
	}
	noFile(t, marker, "a tampered binary was executed on restart")

	mu.Lock()
	gotBounds, gotWaits := bounds[:7], waits[:7]
	mu.Unlock()
	ms := time.Millisecond
	if d := cmp.Diff([]time.Duration{20 * ms, 40 * ms, 80 * ms, 160 * ms, 200 * ms, 200 * ms, 200 * ms}, gotBounds); d != "" {
		t.Errorf("backoff bounds (-want +got):\n%s", d)
	}
	jittered := false
	for i, w := range gotWaits {
		if w <= 0 || w > gotBounds[i] {
			t.Errorf("wait %d is %s, outside (0, %s]", i, w, gotBounds[i])
		}
		if w < gotBounds[i]*99/100 {
			jittered = true
		}
	}
	if !jittered {
		t.Errorf("waits %v are not jittered below their bounds", gotWaits)
	}

	// The right binary back: the next restart succeeds.
	tmp := bin + ".good"
	if err := os.WriteFile(tmp, good, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, bin); err != nil {
		t.Fatal(err)
	}
	waitFor(t, s, "healed", func() bool { h := s.Health(); return h.Up && h.Restarts == 1 })
	if _, err := collect(s, "collector.seq"); err != nil {
		t.Errorf("collect after healing: %v", err)
	}
}

// A plugin that stayed up for StableAfter starts over from BackoffMin; one
// that crashes right after a restart keeps the grown backoff.
func TestBackoffResetsAfterStableUptime(t *testing.T) {
	s, _ := newSup(t, "counter", func(sp *Spec) {
		sp.BackoffMin, sp.BackoffMax, sp.StableAfter = 10*time.Millisecond, time.Second, 300*time.Millisecond
	})
	var mu sync.Mutex
	var bounds []time.Duration
	s.jitter = func(bound time.Duration) time.Duration {
		mu.Lock()
		bounds = append(bounds, bound)
		mu.Unlock()
		return 1
	}
	start(t, s)
	configure(t, s, seqInstance)
	run(t, s)
	kill := func(restarts int64) {
		t.Helper()
		if err := syscall.Kill(pid(t, s), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitFor(t, s, "restarted", func() bool { h := s.Health(); return h.Up && h.Restarts == restarts })
	}
	kill(1)                            // up since Start, but not for 300ms yet: 10ms
	kill(2)                            // right after a restart: 20ms
	time.Sleep(300 * time.Millisecond) // precondition: a stable uptime
	kill(3)                            // stable: back to 10ms
	mu.Lock()
	defer mu.Unlock()
	ms := time.Millisecond
	if d := cmp.Diff([]time.Duration{10 * ms, 20 * ms, 10 * ms}, bounds); d != "" {
		t.Errorf("backoff bounds (-want +got):\n%s", d)
	}
}

func TestFullJitter(t *testing.T) {
	const bound = 100 * time.Millisecond
	lo, hi := bound, time.Duration(0)
	for range 1000 {
		w := fullJitter(bound)
		if w <= 0 || w > bound {
			t.Fatalf("fullJitter(%s) = %s", bound, w)
		}
		lo, hi = min(lo, w), max(hi, w)
	}
	if lo > bound/10 || hi < bound*9/10 {
		t.Errorf("1000 waits span only [%s, %s] of (0, %s]", lo, hi, bound)
	}
}

// Cancelling Run's context stops the plugin and leaves nothing behind.
func TestRunStopsOnCancelWithoutLeaks(t *testing.T) {
	before := runtime.NumGoroutine()
	s, _ := newSup(t, "counter", nil)
	start(t, s)
	configure(t, s, seqInstance)
	cancel, done := run(t, s)
	if _, err := collect(s, "collector.seq"); err != nil {
		t.Fatal(err)
	}
	p := pid(t, s)
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s of its context ending")
	}
	waitGone(t, p)
	if h := s.Health(); h.Up || h.Restarts != 0 {
		t.Errorf("health after Run: %+v", h)
	}
	if _, err := collect(s, "collector.seq"); !errors.Is(err, ErrDown) {
		t.Errorf("collect after Run: %v, want ErrDown", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines before, %d after Run returned:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop while Run supervises: the plugin is not restarted and Run returns.
func TestStopEndsRunWithoutRestart(t *testing.T) {
	s, _ := newSup(t, "counter", nil)
	start(t, s)
	_, done := run(t, s)
	p := pid(t, s)
	s.Stop()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s of Stop")
	}
	waitGone(t, p)
	if h := s.Health(); h.Up || h.Restarts != 0 || s.Launches() != 1 {
		t.Errorf("after Stop: health %+v, launches %d", h, s.Launches())
	}
	if _, err := s.Start(context.Background()); !errors.Is(err, ErrDown) {
		t.Errorf("Start after Stop: %v, want ErrDown", err)
	}
	s.Stop() // twice is fine
}

// A call cut short by the caller's own deadline is not a hang: the plugin
// is left running.
func TestCallerDeadlineIsNotAHang(t *testing.T) {
	s, _ := newSup(t, "hang", func(sp *Spec) { sp.CallTimeout = time.Minute })
	start(t, s)
	configure(t, s, host.Instance{ID: "collector.stuck", Kind: host.Collector, Method: "stuck", Config: []byte(`{}`)})
	run(t, s)
	p := pid(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := s.Collect(ctx, "collector.stuck", 0, func(*metric.Batch) error { return nil })
	if err == nil || strings.Contains(err.Error(), "did not answer") {
		t.Fatalf("collect: %v, want the caller's deadline error", err)
	}
	if h := s.Health(); h.Timeouts != 0 || !h.Up || h.CallErrors != 1 {
		t.Errorf("health: %+v", h)
	}
	if now := pid(t, s); now != p {
		t.Errorf("plugin restarted (pid %d, was %d) after the caller gave up", now, p)
	}
}
