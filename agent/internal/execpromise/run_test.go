package execpromise

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vigilmon/vigil/sdk"
)

// The rows of the G.4 table that an executable promise can produce.
func TestRunStatusMapping(t *testing.T) {
	noExec := filepath.Join(t.TempDir(), "not-executable.sh")
	if err := os.WriteFile(noExec, []byte("#!/bin/sh\necho hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missingDir := filepath.Join(t.TempDir(), "missing")
	tests := []struct {
		name      string
		body      string   // script body, when command is nil
		command   []string // used as is when set
		exitCodes string
		dir       string
		want      outcomeView
	}{
		{name: "nagios 0 OK", body: "echo 'OK: fine'; exit 0", want: outcomeView{Status: sdk.OK, ExitCode: intp(0), Message: "OK: fine"}},
		{name: "nagios 1 WARNING not failed", body: "echo 'WARNING: meh'; exit 1", want: outcomeView{Status: sdk.Warning, ExitCode: intp(1), Message: "WARNING: meh"}},
		{name: "nagios 2 CRITICAL", body: "echo 'CRITICAL: down'; exit 2", want: outcomeView{Status: sdk.Critical, Failed: true, ExitCode: intp(2), Message: "CRITICAL: down"}},
		{name: "nagios 3 UNKNOWN", body: "echo 'UNKNOWN: ?'; exit 3", want: outcomeView{Status: sdk.Unknown, Failed: true, ExitCode: intp(3), Message: "UNKNOWN: ?"}},
		{name: "nagios other exit code", body: "echo 'odd'; exit 7", want: outcomeView{Status: sdk.Unknown, Failed: true, ExitCode: intp(7), Message: "odd"}},
		{name: "nagios 255", body: "echo 'odd'; exit 255", want: outcomeView{Status: sdk.Unknown, Failed: true, ExitCode: intp(255), Message: "odd"}},
		{name: "default is nagios", exitCodes: "-", body: "echo 'WARNING'; exit 1", want: outcomeView{Status: sdk.Warning, ExitCode: intp(1), Message: "WARNING"}},
		{name: "slapos 0 OK", exitCodes: ExitCodesSlapOS, body: "echo fine", want: outcomeView{Status: sdk.OK, ExitCode: intp(0), Message: "fine"}},
		{name: "slapos 1 CRITICAL", exitCodes: ExitCodesSlapOS, body: "echo 'broken'; exit 1", want: outcomeView{Status: sdk.Critical, Failed: true, ExitCode: intp(1), Message: "broken"}},
		{name: "slapos 3 is CRITICAL too", exitCodes: ExitCodesSlapOS, body: "echo 'broken'; exit 3", want: outcomeView{Status: sdk.Critical, Failed: true, ExitCode: intp(3), Message: "broken"}},
		{
			name: "killed by a signal not ours", body: "echo before; kill -KILL $$",
			want: outcomeView{Status: sdk.Unknown, Failed: true, Signal: "SIGKILL", Message: "Error: terminated by signal SIGKILL\nbefore"},
		},
		{
			name: "killed by SIGUSR1", body: "kill -USR1 $$",
			want: outcomeView{Status: sdk.Unknown, Failed: true, Signal: "SIGUSR1", Message: "Error: terminated by signal SIGUSR1"},
		},
		{
			name: "slapos killed by signal", exitCodes: ExitCodesSlapOS, body: "kill -TERM $$",
			want: outcomeView{Status: sdk.Unknown, Failed: true, Signal: "SIGTERM", Message: "Error: terminated by signal SIGTERM"},
		},
		{
			name: "cannot start ENOENT", command: []string{"/nonexistent/check"},
			want: outcomeView{Status: sdk.Unknown, Failed: true, Message: "Error: cannot run /nonexistent/check: no such file or directory"},
		},
		{
			name: "cannot start EACCES", command: []string{noExec},
			want: outcomeView{Status: sdk.Unknown, Failed: true, Message: "Error: cannot run " + noExec + ": permission denied"},
		},
		{
			name: "not in the clean PATH", command: []string{"vigil-no-such-check"},
			want: outcomeView{Status: sdk.Unknown, Failed: true, Message: "Error: cannot run vigil-no-such-check: executable not found in PATH=" + DefaultPath},
		},
		{
			name: "missing working directory", body: "echo hi", dir: missingDir,
			want: outcomeView{Status: sdk.Unknown, Failed: true, Message: "Error: cannot enter working directory " + missingDir + ": no such file or directory"},
		},
		{
			name: "no command", command: []string{},
			want: outcomeView{Status: sdk.Unknown, Failed: true, Message: "Error: no command to run"},
		},
		{
			name: "unknown exit_codes", exitCodes: "sensu", body: "exit 0",
			want: outcomeView{Status: sdk.Unknown, Failed: true, Message: `Error: unknown exit_codes "sensu" (want "nagios" or "slapos")`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			spec := Spec{ID: "p", Command: tt.command, ExitCodes: tt.exitCodes, Dir: tt.dir}
			if tt.command == nil {
				spec.Command = script(t, tt.body)
			}
			if spec.ExitCodes == "-" {
				spec.ExitCodes = ""
			}
			rec := Run(context.Background(), spec)
			if diff := cmp.Diff(tt.want, viewOf(rec)); diff != "" {
				t.Errorf("Run mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunTimes(t *testing.T) {
	before := time.Now()
	rec := Run(context.Background(), Spec{ID: "p", Command: []string{"true"}})
	after := time.Now()
	if rec.Status != sdk.OK {
		t.Fatalf("status %v, message %q", rec.Status, rec.Message)
	}
	if rec.Start.Location() != time.UTC || rec.End.Location() != time.UTC {
		t.Errorf("Start %v and End %v must be UTC", rec.Start, rec.End)
	}
	if rec.Start.Before(before.Truncate(time.Microsecond)) || rec.End.After(after) || rec.End.Before(rec.Start) {
		t.Errorf("Start %v End %v not within [%v, %v]", rec.Start, rec.End, before, after)
	}
	if rec.Duration <= 0 || rec.Duration > after.Sub(before) {
		t.Errorf("Duration %v not within (0, %v]", rec.Duration, after.Sub(before))
	}
}

// BenchmarkRun measures the cost of one run of a trivial plugin, process
// start and reaping included.
func BenchmarkRun(b *testing.B) {
	spec := Spec{ID: "bench", Command: []string{"/bin/true"}}
	for b.Loop() {
		if rec := Run(context.Background(), spec); rec.Status != sdk.OK {
			b.Fatalf("status %v: %s", rec.Status, rec.Message)
		}
	}
}
