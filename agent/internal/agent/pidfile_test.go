package agent

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestPIDFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := ReadPID(dir); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("no pid file: %v", err)
	}
	if err := writePIDFile(dir); err != nil {
		t.Fatal(err)
	}
	if pid, err := ReadPID(dir); err != nil || pid != os.Getpid() {
		t.Fatalf("ReadPID = %d, %v", pid, err)
	}
	removePIDFile(dir)
	if _, err := os.Stat(filepath.Join(dir, PIDFileName)); !os.IsNotExist(err) {
		t.Fatalf("pid file left: %v", err)
	}
	// A pid file naming a process that is gone means not running.
	if err := os.WriteFile(filepath.Join(dir, PIDFileName), []byte("999999999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPID(dir); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("stale pid file: %v", err)
	}
}
