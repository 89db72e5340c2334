package execpromise

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vigilmon/vigil/sdk"
)

func TestRunPerfdataComesThrough(t *testing.T) {
	t.Parallel()
	cmd := script(t, `echo 'DISK WARNING - / at 91% | /=91%;90;95;0;100'
echo '/ 91%'
echo '/var 20% | /var=20%;90;95;0;100 bad'
echo 'x=U;;;;'
exit 1`)
	rec := Run(context.Background(), Spec{ID: "disk", Command: cmd})
	f := func(v float64) *float64 { return &v }
	want := Record{
		Status:     sdk.Warning,
		ExitCode:   intp(1),
		Output:     "DISK WARNING - / at 91% | /=91%;90;95;0;100\n/ 91%\n/var 20% | /var=20%;90;95;0;100 bad\nx=U;;;;\n",
		Summary:    "DISK WARNING - / at 91%",
		LongOutput: "/ 91%\n/var 20%",
		Message:    "DISK WARNING - / at 91%\n/ 91%\n/var 20%",
		Perfdata: []sdk.Perfdata{
			{Label: "/", Value: 91, Unit: "%", Warn: "90", Crit: "95", Min: f(0), Max: f(100)},
			{Label: "/var", Value: 20, Unit: "%", Warn: "90", Crit: "95", Min: f(0), Max: f(100)},
			{Label: "x", Unknown: true},
		},
		Warnings: []string{`malformed perfdata item "bad": missing '='`},
	}
	rec.Start, rec.End, rec.Duration = want.Start, want.End, want.Duration
	if diff := cmp.Diff(want, rec); diff != "" {
		t.Errorf("Run mismatch (-want +got):\n%s", diff)
	}
}

func TestRunOutputIsBoundedAndDrained(t *testing.T) {
	t.Parallel()
	// 1 MB is far more than a pipe buffer: the child would block for ever if
	// the excess were not read and discarded.
	cmd := script(t, "head -c 1000000 /dev/zero | tr '\\000' a; echo; echo 'the end'; exit 2")
	rec := Run(context.Background(), Spec{ID: "p", Command: cmd, MaxOutputBytes: 100, MaxMessageChars: 50})
	if !rec.OutputTruncated || rec.Output != strings.Repeat("a", 100) {
		t.Errorf("truncated %v, output %q, want the first 100 bytes", rec.OutputTruncated, rec.Output)
	}
	if rec.Status != sdk.Critical || rec.Message != "..."+strings.Repeat("a", 50) {
		t.Errorf("status %v message %q", rec.Status, rec.Message)
	}
}

func TestRunOutputNotTruncatedAtTheLimit(t *testing.T) {
	t.Parallel()
	rec := Run(context.Background(), Spec{ID: "p", Command: script(t, "printf 1234"), MaxOutputBytes: 4})
	if rec.OutputTruncated || rec.Output != "1234" {
		t.Errorf("truncated %v output %q, want false and %q", rec.OutputTruncated, rec.Output, "1234")
	}
}

func TestRunMergesStdoutAndStderrInOrder(t *testing.T) {
	t.Parallel()
	rec := Run(context.Background(), Spec{ID: "p", Command: script(t, "echo one; echo two >&2; echo three; echo four >&2")})
	if want := "one\ntwo\nthree\nfour\n"; rec.Output != want {
		t.Errorf("output %q, want %q", rec.Output, want)
	}
}

func TestRunInvalidUTF8IsReplaced(t *testing.T) {
	t.Parallel()
	rec := Run(context.Background(), Spec{ID: "p", Command: script(t, `printf 'OK \377 fine'`)})
	if want := "OK \uFFFD fine"; rec.Output != want || rec.Message != want {
		t.Errorf("output %q message %q, want %q", rec.Output, rec.Message, want)
	}
}

// shellVars are set by the shell itself, whatever environment it is given.
var shellVars = []string{"PWD", "OLDPWD", "SHLVL", "_"}

func TestRunEnvironmentIsClean(t *testing.T) {
	t.Setenv("VIGIL_EXECPROMISE_LEAK", "secret")
	dir := t.TempDir()
	rec := Run(context.Background(), Spec{
		ID:      "check-env",
		Command: script(t, "env"),
		Dir:     dir,
		Env:     []string{"FOO=bar", "PROMISE_NAME=spoofed", "NOEQUALS", "EMPTY="},
	})
	var got []string
	for _, kv := range strings.Split(strings.TrimSpace(rec.Output), "\n") {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(shellVars, k) {
			got = append(got, kv)
		}
	}
	slices.Sort(got)
	want := []string{"EMPTY=", "FOO=bar", "PATH=" + DefaultPath, "PROMISE_NAME=check-env"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("environment mismatch (-want +got):\n%s", diff)
	}
	if strings.Contains(rec.Output, "VIGIL_EXECPROMISE_LEAK") {
		t.Errorf("the agent's environment leaked into the promise:\n%s", rec.Output)
	}
}

// Not parallel: it writes an executable, which must not race with forks of
// parallel tests (ETXTBSY).
func TestRunCommandIsLookedUpInThePromisePath(t *testing.T) {
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "my-check"), []byte("#!/bin/sh\necho \"OK: $PATH\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", os.Getenv("PATH")+":"+bin) // the agent's PATH is not the promise's
	rec := Run(context.Background(), Spec{ID: "p", Command: []string{"my-check"}})
	if want := "Error: cannot run my-check: executable not found in PATH=" + DefaultPath; rec.Message != want {
		t.Errorf("with the default PATH: message %q, want %q", rec.Message, want)
	}
	rec = Run(context.Background(), Spec{ID: "p", Command: []string{"my-check"}, Env: []string{"PATH=/nonexistent:" + bin}})
	if want := "OK: /nonexistent:" + bin; rec.Status != sdk.OK || rec.Message != want {
		t.Errorf("with PATH set in Env: status %v message %q, want OK and %q", rec.Status, rec.Message, want)
	}
}

func TestRunWorkingDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rec := Run(context.Background(), Spec{ID: "p", Command: script(t, "pwd"), Dir: dir})
	if rec.Message != dir {
		t.Errorf("pwd printed %q, want %q", rec.Message, dir)
	}
}

func TestMessageTruncation(t *testing.T) {
	tests := []struct {
		name   string
		prefix string // "" = keepLast only
		body   string
		limit  int
		want   string
	}{
		{name: "short enough", body: "0123456789", limit: 10, want: "0123456789"},
		{name: "keeps the last characters", body: "0123456789abcdef", limit: 10, want: "...6789abcdef"},
		{name: "counts characters not bytes", body: "ééééé", limit: 3, want: "...ééé"},
		{name: "prefix kept whole", prefix: "Error: x", body: "0123456789", limit: 14, want: "Error: x\n...56789"},
		{name: "prefix alone when no room", prefix: "Error: long prefix", body: "abc", limit: 5, want: "Error: long prefix"},
		{name: "prefix alone when no body", prefix: "Error: x", body: "", limit: 100, want: "Error: x"},
		{name: "prefix and full body", prefix: "Error: x", body: "abc", limit: 100, want: "Error: x\nabc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			if tt.prefix == "" {
				got = keepLast(tt.body, tt.limit)
			} else {
				got = prefixed(tt.prefix, tt.body, tt.limit)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRunMessageTruncationDefault(t *testing.T) {
	t.Parallel()
	rec := Run(context.Background(), Spec{ID: "p", Command: script(t, "head -c 6000 /dev/zero | tr '\\000' a; echo b")})
	if want := "..." + strings.Repeat("a", 4999) + "b"; rec.Message != want {
		t.Errorf("message is %d characters ending %q, want the last 5000 prefixed with ...", len(rec.Message), rec.Message[len(rec.Message)-5:])
	}
}
