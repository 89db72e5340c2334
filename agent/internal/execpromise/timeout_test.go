package execpromise

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigilmon/vigil/sdk"
)

// H.8: sleep 10 with a 2s timeout, in both exit-code conventions. The
// duration bound is the behaviour under test (SIGTERM at 2s ends sleep at
// once), not a performance limit.
func TestRunTimeoutH8(t *testing.T) {
	for _, codes := range []string{ExitCodesNagios, ExitCodesSlapOS} {
		t.Run(codes, func(t *testing.T) {
			t.Parallel()
			rec := Run(context.Background(), Spec{ID: "sleep", Command: []string{"sleep", "10"}, Timeout: 2 * time.Second, ExitCodes: codes})
			if rec.Status != sdk.Critical || !rec.Failed || !rec.TimedOut {
				t.Errorf("status %v failed %v timed out %v, want CRITICAL, true, true", rec.Status, rec.Failed, rec.TimedOut)
			}
			if want := "Error: Promise timed out after 2 seconds"; !strings.HasPrefix(rec.Message, want) {
				t.Errorf("message %q does not start with %q", rec.Message, want)
			}
			if rec.Duration < 2*time.Second || rec.Duration >= 3*time.Second {
				t.Errorf("duration %v not in [2s, 3s)", rec.Duration)
			}
			if rec.Signal != "SIGTERM" || rec.ExitCode != nil {
				t.Errorf("signal %q exit code %v, want SIGTERM and none", rec.Signal, rec.ExitCode)
			}
		})
	}
}

func TestRunTimeoutKeepsPartialOutput(t *testing.T) {
	t.Parallel()
	cmd := script(t, "echo 'partial |a=1'; echo more; sleep 10")
	rec := Run(context.Background(), Spec{ID: "p", Command: cmd, Timeout: 300 * time.Millisecond})
	want := "Error: Promise timed out after 0.3 seconds\npartial\nmore"
	if rec.Message != want {
		t.Errorf("message %q, want %q", rec.Message, want)
	}
	if len(rec.Perfdata) != 1 || rec.Perfdata[0].Label != "a" {
		t.Errorf("perfdata %+v, want the item printed before the timeout", rec.Perfdata)
	}
}

func TestRunTimeoutKillsTheWholeGroup(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		wantSignal string
	}{
		{
			name:       "grandchild dies on SIGTERM",
			body:       "sleep 100 & echo $! > \"$PIDFILE\"; wait",
			wantSignal: "SIGTERM",
		},
		{
			name: "everyone ignores SIGTERM and gets SIGKILL",
			body: "trap '' TERM; (exec sleep 100) & echo $! > \"$PIDFILE\"; sleep 100",
			// The leader ignores SIGTERM too, so SIGKILL ends it.
			wantSignal: "SIGKILL",
		},
		{
			name:       "grandchild detached from the output",
			body:       "(trap '' TERM; exec sleep 100) >/dev/null 2>&1 & echo $! > \"$PIDFILE\"; wait",
			wantSignal: "SIGTERM",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pidFile := filepath.Join(t.TempDir(), "pid")
			rec := Run(context.Background(), Spec{
				ID:        "p",
				Command:   script(t, tt.body),
				Env:       []string{"PIDFILE=" + pidFile},
				Timeout:   500 * time.Millisecond,
				KillGrace: 300 * time.Millisecond,
			})
			if rec.Status != sdk.Critical || !rec.TimedOut || rec.Signal != tt.wantSignal {
				t.Errorf("status %v timed out %v signal %q, want CRITICAL, true, %q (message %q)",
					rec.Status, rec.TimedOut, rec.Signal, tt.wantSignal, rec.Message)
			}
			assertDead(t, readPID(t, pidFile))
		})
	}
}

func TestRunExitEndsWhatItLeftBehind(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{name: "holding the output pipe", body: "sleep 100 & echo $! > \"$PIDFILE\"; echo 'OK: done'"},
		{name: "detached from the output", body: "sleep 100 >/dev/null 2>&1 & echo $! > \"$PIDFILE\"; echo 'OK: done'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pidFile := filepath.Join(t.TempDir(), "pid")
			rec := Run(context.Background(), Spec{ID: "p", Command: script(t, tt.body), Env: []string{"PIDFILE=" + pidFile}})
			if rec.Status != sdk.OK || rec.Message != "OK: done" {
				t.Errorf("status %v message %q, want OK and %q", rec.Status, rec.Message, "OK: done")
			}
			assertDead(t, readPID(t, pidFile))
		})
	}
}

func TestRunContextCancelEndsTheGroup(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pid")
	ready := pidFile + ".ready"
	cmd := script(t, "sleep 100 & echo $! > \"$PIDFILE\"; echo started; : > \"$PIDFILE.ready\"; wait")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		defer cancel()
		for {
			if _, err := os.Stat(ready); err == nil {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	rec := Run(ctx, Spec{ID: "p", Command: cmd, Env: []string{"PIDFILE=" + pidFile}})
	if !rec.Interrupted || rec.TimedOut || rec.Status != sdk.Unknown || !rec.Failed {
		t.Errorf("interrupted %v timed out %v status %v failed %v, want true, false, UNKNOWN, true",
			rec.Interrupted, rec.TimedOut, rec.Status, rec.Failed)
	}
	if want := "Error: Promise run was interrupted before it finished\nstarted"; rec.Message != want {
		t.Errorf("message %q, want %q", rec.Message, want)
	}
	assertDead(t, readPID(t, pidFile))
}

func TestRunCancelledContextDoesNotStart(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := Run(ctx, Spec{ID: "p", Command: script(t, ": > "+marker)})
	if !rec.Interrupted || rec.Status != sdk.Unknown || rec.Message != "Error: Promise run was interrupted before it started" {
		t.Errorf("interrupted %v status %v message %q", rec.Interrupted, rec.Status, rec.Message)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the promise ran although its context was already cancelled")
	}
}

// A process that leaves the group (setsid) cannot be killed with it; Run must
// still return instead of waiting for it to close the output pipe.
func TestRunDoesNotWaitForProcessesThatLeftTheGroup(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/usr/bin/setsid"); err != nil {
		t.Skipf("setsid (util-linux) not installed: %v", err)
	}
	pidFile := filepath.Join(t.TempDir(), "pid")
	cmd := script(t, "setsid sleep 100 & echo $! > \"$PIDFILE\"; echo 'OK: left one behind'")
	rec := Run(context.Background(), Spec{ID: "p", Command: cmd, Env: []string{"PIDFILE=" + pidFile}})
	pid := readPID(t, pidFile)
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	if rec.Status != sdk.OK || rec.Message != "OK: left one behind" {
		t.Errorf("status %v message %q", rec.Status, rec.Message)
	}
	// Far below the escaped sleep's 100s: Run stopped reading instead of
	// waiting for it.
	if rec.Duration > 50*time.Second {
		t.Errorf("Run took %v: it waited for a process outside the group", rec.Duration)
	}
}
