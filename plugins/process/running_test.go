package main

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vigilmon/vigil/sdk"
)

func procsPerf(n float64, crit string) []sdk.Perfdata {
	zero := 0.0
	return []sdk.Perfdata{{Label: "procs", Value: n, Crit: crit, Min: &zero}}
}

func TestRunning(t *testing.T) {
	tests := []struct {
		name   string
		values map[string]any
		want   sdk.Result
	}{
		{"ok", map[string]any{"names": []string{"postgres"}},
			sdk.Result{Status: sdk.OK, Message: "PROCS OK: 2 processes with command name 'postgres'", Perfdata: procsPerf(2, "1:")}},
		{"none", map[string]any{"names": []string{"nosuchproc"}},
			sdk.Result{Status: sdk.Critical, Message: "PROCS CRITICAL: 0 processes with command name 'nosuchproc'", Perfdata: procsPerf(0, "1:")}},
		{"too many", map[string]any{"names": []string{"postgres"}, "max": 1},
			sdk.Result{Status: sdk.Critical, Message: "PROCS CRITICAL: 2 processes with command name 'postgres'", Perfdata: procsPerf(2, "1:1")}},
		{"exactly one", map[string]any{"cmdline": "^nginx: master", "min": 1, "max": 1},
			sdk.Result{Status: sdk.OK, Message: "PROCS OK: 1 process with regex args '^nginx: master'", Perfdata: procsPerf(1, "1:1")}},
		{"must not run", map[string]any{"names": []string{"telnetd"}, "min": 0, "max": 0},
			sdk.Result{Status: sdk.OK, Message: "PROCS OK: 0 processes with command name 'telnetd'", Perfdata: procsPerf(0, "0:0")}},
		{"several matchers", map[string]any{"names": []string{"nginx", "postgres"}, "user": "0", "min": 2},
			sdk.Result{Status: sdk.Critical, Message: "PROCS CRITICAL: 1 process with command name 'nginx' or 'postgres', UID = 0", Perfdata: procsPerf(1, "2:")}},
		{"pid file", map[string]any{"pidfile": "testdata/nginx.pid"},
			sdk.Result{Status: sdk.OK, Message: "PROCS OK: 1 process with pid file 'testdata/nginx.pid'", Perfdata: procsPerf(1, "1:")}},
		{"missing pid file", map[string]any{"pidfile": "testdata/nope.pid"},
			sdk.Result{Status: sdk.Critical, Message: "PROCS CRITICAL: 0 processes with pid file 'testdata/nope.pid'", Perfdata: procsPerf(0, "1:")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.values["proc_root"] = "testdata/proc"
			c, err := newPromise(tt.values)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Check(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("result mismatch (-want +got):\n%s", d)
			}
		})
	}
}

func TestRunningUserName(t *testing.T) {
	c, err := newPromise(map[string]any{"proc_root": "testdata/proc", "user": "root", "names": []string{"systemd"}})
	if err != nil {
		t.Skipf("no user root on this machine: %v", err)
	}
	got, err := c.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff("PROCS OK: 1 process with command name 'systemd', UID = 0 (root)", got.Message); d != "" {
		t.Errorf("message mismatch (-want +got):\n%s", d)
	}
}

func TestRunningBounds(t *testing.T) {
	tests := []struct {
		name   string
		values map[string]any
		path   string
	}{
		{"negative min", map[string]any{"min": -1}, "min"},
		{"fractional min", map[string]any{"min": 1.5}, "min"},
		{"max below -1", map[string]any{"max": -2}, "max"},
		{"max below min", map[string]any{"min": 3, "max": 2}, "max"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.values["names"] = []string{"x"}
			_, err := newPromise(tt.values)
			assertAttrError(t, err, tt.path)
		})
	}
}

func TestRunningErrors(t *testing.T) {
	c, err := newPromise(map[string]any{"proc_root": "testdata/proc", "names": []string{"postgres"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Check(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Check = %v, want context.Canceled", err)
	}
	c, err = newPromise(map[string]any{"proc_root": "testdata/proc", "pidfile": "testdata/bad.pid"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Check(context.Background()); err == nil {
		t.Error("Check succeeded with a pid file holding garbage")
	}
}
