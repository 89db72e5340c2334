package main

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vigilmon/vigil/sdk"
	"github.com/vigilmon/vigil/sdk/metric"
)

func TestLoad(t *testing.T) {
	pts, err := gather(t, mustCollector(t, "load", map[string]any{"proc_root": "testdata/proc"}))
	if err != nil {
		t.Fatal(err)
	}
	diffPoints(t, []metric.Point{point("system", nil, map[string]any{
		"load1": 0.5, "load5": 1.25, "load15": 2.0,
		"n_cpus": int64(2), "procs_running": int64(3), "procs_total": int64(456),
	})}, pts)
}

func TestParseLoadavgErrors(t *testing.T) {
	for name, in := range map[string]string{
		"short":        "0.1 0.2 0.3\n",
		"bad load":     "x 0.2 0.3 1/2 3\n",
		"bad counts":   "0.1 0.2 0.3 12 3\n",
		"bad running":  "0.1 0.2 0.3 a/2 3\n",
		"bad total":    "0.1 0.2 0.3 1/b 3\n",
		"empty string": "",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := parseLoadavg([]byte(in)); err == nil {
				t.Errorf("parseLoadavg(%q) succeeded, want an error", in)
			}
		})
	}
}

// utmpRecord builds one Linux utmp record.
func utmpRecord(typ int16, user string) []byte {
	rec := make([]byte, utmpRecordSize)
	binary.NativeEndian.PutUint16(rec, uint16(typ))
	copy(rec[utmpUserOffset:utmpUserOffset+utmpUserSize], user)
	copy(rec[8:40], "pts/0")
	return rec
}

// writeUtmp writes a utmp file with a boot record, two logged-in users,
// a dead process, a nameless USER_PROCESS record and a truncated record.
func writeUtmp(t *testing.T) string {
	t.Helper()
	var data []byte
	data = append(data, utmpRecord(2, "reboot")...)
	data = append(data, utmpRecord(utmpUserProcess, "alice")...)
	data = append(data, utmpRecord(8, "carol")...)
	data = append(data, utmpRecord(utmpUserProcess, "bob")...)
	data = append(data, utmpRecord(utmpUserProcess, "")...)
	data = append(data, utmpRecord(utmpUserProcess, "dave")[:100]...)
	p := filepath.Join(t.TempDir(), "utmp")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSystem(t *testing.T) {
	utmp := writeUtmp(t)
	tests := []struct {
		name  string
		utmp  string
		users int64
	}{
		{"users from utmp", utmp, 2},
		{"missing utmp", filepath.Join(t.TempDir(), "nope"), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pts, err := gather(t, mustCollector(t, "system", map[string]any{"proc_root": "testdata/proc", "utmp_path": tt.utmp}))
			if err != nil {
				t.Fatal(err)
			}
			diffPoints(t, []metric.Point{point("system", nil, map[string]any{
				"uptime": int64(12345), "boot_time": int64(1700000000), "n_users": tt.users,
			})}, pts)
		})
	}
}

func TestSystemUnreadableUtmp(t *testing.T) {
	// A directory cannot be read as a file: the error is reported and
	// n_users left out, the rest still goes out.
	pts, err := gather(t, mustCollector(t, "system", map[string]any{"proc_root": "testdata/proc", "utmp_path": t.TempDir()}))
	if err == nil {
		t.Error("no accumulated error for an unreadable utmp")
	}
	diffPoints(t, []metric.Point{point("system", nil, map[string]any{
		"uptime": int64(12345), "boot_time": int64(1700000000),
	})}, pts)
}

func TestParseUptime(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"12345.67 23456.78\n", 12345, false},
		{"0.99 1\n", 0, false},
		{"", 0, true},
		{"-5 1", 0, true},
		{"soon 1", 0, true},
	}
	for _, tt := range tests {
		got, err := parseUptime([]byte(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseUptime(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// Every collector honours a cancelled context and adds nothing.
func TestCollectorsCancelled(t *testing.T) {
	for _, c := range newManifest().Collectors {
		t.Run(c.Name, func(t *testing.T) {
			g := mustCollector(t, c.Name, map[string]any{"proc_root": "testdata/proc"})
			var n int
			acc := sdk.NewAccumulator(0, testTime, func(b *metric.Batch) error { n += b.Len(); return nil })
			err := g.Gather(cancelled(), acc)
			if !errors.Is(err, errCanceled) {
				t.Errorf("Gather = %v, want context.Canceled", err)
			}
			if err := acc.Flush(); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(0, n); d != "" {
				t.Errorf("points added after cancel (-want +got):\n%s", d)
			}
		})
	}
}

// Every collector reports a missing proc_root as an error.
func TestCollectorsMissingProc(t *testing.T) {
	for _, c := range newManifest().Collectors {
		t.Run(c.Name, func(t *testing.T) {
			g := mustCollector(t, c.Name, map[string]any{"proc_root": filepath.Join(t.TempDir(), "proc")})
			acc := sdk.NewAccumulator(0, testTime, func(*metric.Batch) error { return nil })
			if err := g.Gather(t.Context(), acc); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("Gather = %v, want an error wrapping fs.ErrNotExist", err)
			}
		})
	}
}
