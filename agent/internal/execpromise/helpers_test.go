package execpromise

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigilmon/vigil/sdk"
)

// script writes a /bin/sh script into a fresh temporary directory and
// returns the command that runs it. The script is run through /bin/sh rather
// than executed: executing a file just written while parallel tests fork
// fails at random with ETXTBSY (golang/go#22315).
func script(t *testing.T, body string) []string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "promise.sh")
	if err := os.WriteFile(path, []byte(body+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"/bin/sh", path}
}

// outcomeView is the part of a Record a G.4 row decides.
type outcomeView struct {
	Status   sdk.Status
	Failed   bool
	TimedOut bool
	ExitCode *int
	Signal   string
	Message  string
}

func viewOf(r Record) outcomeView {
	return outcomeView{r.Status, r.Failed, r.TimedOut, r.ExitCode, r.Signal, r.Message}
}

func intp(i int) *int { return &i }

// readPID reads the pid a script wrote to path.
func readPID(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading pid file: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("pid file %q: %v", b, err)
	}
	return pid
}

// assertDead fails the test if pid is a process that can still run. kill(2)
// returns before its target is gone, so a process counts as dead once it is
// gone, a zombie (its new parent, init, may be slow to reap in containers),
// exiting, or has SIGKILL pending; a signalled process is polled until it is
// one of these. The 10s bound only keeps a broken Run from hanging the test.
func assertDead(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		alive, status := canRun(t, pid)
		if !alive {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("process %d of the promise's group is still alive:\n%s", pid, status)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func canRun(t *testing.T, pid int) (bool, string) {
	t.Helper()
	err := syscall.Kill(pid, 0)
	if errors.Is(err, syscall.ESRCH) {
		return false, ""
	}
	if err != nil {
		t.Fatalf("kill(%d, 0): %v", pid, err)
	}
	proc := "/proc/" + strconv.Itoa(pid)
	status, err1 := os.ReadFile(proc + "/status")
	stat, err2 := os.ReadFile(proc + "/stat")
	if err1 != nil || err2 != nil {
		return false, "" // reaped meanwhile
	}
	const pfExiting = 0x4 // PF_EXITING in the flags field of /proc/PID/stat
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 {
		// Fields after "(comm)": state ppid pgrp session tty_nr tpgid flags ...
		if f := strings.Fields(string(stat[i+1:])); len(f) > 6 {
			if flags, err := strconv.ParseUint(f[6], 10, 64); err == nil && flags&pfExiting != 0 {
				return false, ""
			}
		}
	}
	const sigkillBit = 1 << (syscall.SIGKILL - 1)
	for _, line := range strings.Split(string(status), "\n") {
		key, val, _ := strings.Cut(line, ":")
		val = strings.TrimSpace(val)
		switch key {
		case "State":
			if strings.HasPrefix(val, "Z") {
				return false, ""
			}
		case "SigPnd", "ShdPnd":
			if mask, err := strconv.ParseUint(val, 16, 64); err == nil && mask&sigkillBit != 0 {
				return false, ""
			}
		}
	}
	return true, string(status)
}
