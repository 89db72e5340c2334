package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/sdk"
)

func TestFresh(t *testing.T) {
	dir := makeFiles(t,
		fixture{"new.tar.gz", 1, 30 * time.Minute},
		fixture{"old.tar.gz", 1, 25 * time.Hour},
		fixture{"older.tar.gz", 1, 30 * time.Hour},
	)
	const crit = "93600" // 26h in seconds
	for _, tc := range []struct {
		name    string
		pattern string
		warn    string
		want    sdk.Result
	}{
		{
			name: "fresh", pattern: "new.*", warn: "0s",
			want: sdk.Result{Status: sdk.OK, Message: "FRESH OK: 1 file, oldest " + filepath.Join(dir, "new.tar.gz") + " modified 30m0s ago (max 26h0m0s)",
				Perfdata: []sdk.Perfdata{{Label: "oldest_age", Value: 1800, Unit: "s", Crit: crit}, {Label: "files", Value: 1}}},
		},
		{
			name: "warning", pattern: "old.*", warn: "24h",
			want: sdk.Result{Status: sdk.Warning, Message: "FRESH WARNING: 1 file, oldest " + filepath.Join(dir, "old.tar.gz") + " modified 25h0m0s ago (max 26h0m0s)",
				Perfdata: []sdk.Perfdata{{Label: "oldest_age", Value: 90000, Unit: "s", Warn: "86400", Crit: crit}, {Label: "files", Value: 1}}},
		},
		{
			name: "the oldest decides", pattern: "*.tar.gz", warn: "0s",
			want: sdk.Result{Status: sdk.Critical, Message: "FRESH CRITICAL: 3 files, oldest " + filepath.Join(dir, "older.tar.gz") + " modified 30h0m0s ago (max 26h0m0s)",
				Perfdata: []sdk.Perfdata{{Label: "oldest_age", Value: 108000, Unit: "s", Crit: crit}, {Label: "files", Value: 3}}},
		},
		{
			name: "nothing matches", pattern: "*.zip", warn: "0s",
			want: sdk.Result{Status: sdk.Critical, Message: "FRESH CRITICAL: no file matches " + filepath.Join(dir, "*.zip")},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := newFresh(sdk.NewConfig(map[string]any{"path": filepath.Join(dir, tc.pattern), "max_age": "26h", "warn_age": tc.warn}))
			if err != nil {
				t.Fatal(err)
			}
			c.(*fresh).now = func() time.Time { return testNow }
			got, err := c.Check(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("result (-want +got):\n%s", d)
			}
		})
	}
}

func TestFreshConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  map[string]any
		path []string
	}{
		{"no path", map[string]any{"path": "", "max_age": "1h", "warn_age": "0s"}, []string{"path"}},
		{"bad pattern", map[string]any{"path": "[", "max_age": "1h", "warn_age": "0s"}, []string{"path"}},
		{"zero max", map[string]any{"path": "*", "max_age": "0s", "warn_age": "0s"}, []string{"max_age"}},
		{"warn not below max", map[string]any{"path": "*", "max_age": "1h", "warn_age": "2h"}, []string{"warn_age"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newFresh(sdk.NewConfig(tc.cfg))
			d := sdk.AsDiagnostics(err)
			if len(d) != 1 {
				t.Fatalf("diagnostics %v, want one", err)
			}
			if diff := cmp.Diff(tc.path, d[0].Path); diff != "" {
				t.Errorf("path (-want +got):\n%s", diff)
			}
		})
	}
}

func mkdir(p string) error { return os.Mkdir(p, 0o755) }
