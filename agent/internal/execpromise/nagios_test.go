package execpromise

import (
	"context"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vigilmon/vigil/sdk"
)

const checkDummy = "/usr/lib/nagios/plugins/check_dummy"

// Debian's monitoring-plugins, run for real.
func TestRunCheckDummy(t *testing.T) {
	if _, err := os.Stat(checkDummy); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("monitoring-plugins not installed (%v); apt-get install monitoring-plugins-basic", err)
		}
		t.Fatalf("monitoring-plugins must be installed in CI: %v", err)
	}
	tests := []struct {
		args []string
		want outcomeView
	}{
		{[]string{"0"}, outcomeView{Status: sdk.OK, ExitCode: intp(0), Message: "OK"}},
		{[]string{"1", "hello"}, outcomeView{Status: sdk.Warning, ExitCode: intp(1), Message: "WARNING: hello"}},
		{[]string{"2"}, outcomeView{Status: sdk.Critical, Failed: true, ExitCode: intp(2), Message: "CRITICAL"}},
		{[]string{"7"}, outcomeView{Status: sdk.Unknown, Failed: true, ExitCode: intp(3), Message: "UNKNOWN: Status 7 is not a supported error state"}},
	}
	for _, tt := range tests {
		t.Run(tt.args[0], func(t *testing.T) {
			t.Parallel()
			rec := Run(context.Background(), Spec{ID: "dummy", Command: append([]string{checkDummy}, tt.args...)})
			if diff := cmp.Diff(tt.want, viewOf(rec)); diff != "" {
				t.Errorf("check_dummy %v mismatch (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

// check_dummy under the SlapOS convention: WARNING's exit 1 is a failure.
func TestRunCheckDummySlapOS(t *testing.T) {
	if _, err := os.Stat(checkDummy); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("monitoring-plugins not installed (%v)", err)
		}
		t.Fatalf("monitoring-plugins must be installed in CI: %v", err)
	}
	rec := Run(context.Background(), Spec{ID: "dummy", Command: []string{checkDummy, "1", "hello"}, ExitCodes: ExitCodesSlapOS})
	want := outcomeView{Status: sdk.Critical, Failed: true, ExitCode: intp(1), Message: "WARNING: hello"}
	if diff := cmp.Diff(want, viewOf(rec)); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}
