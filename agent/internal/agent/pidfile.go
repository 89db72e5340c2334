package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// PIDFileName is the daemon's pid file in its data dir; `vigil install`
// reads it to send SIGHUP after changing the configuration.
const PIDFileName = "vigil.pid"

func writePIDFile(dataDir string) error {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dataDir, PIDFileName), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
}

// removePIDFile removes the pid file if it is still this process's.
func removePIDFile(dataDir string) {
	if pid, err := ReadPID(dataDir); err == nil && pid == os.Getpid() {
		os.Remove(filepath.Join(dataDir, PIDFileName))
	}
}

// ErrNotRunning means no agent daemon runs on the data dir.
var ErrNotRunning = errors.New("no running agent")

// ReadPID returns the pid of the daemon running on dataDir, or
// ErrNotRunning when there is no pid file or its process is gone.
func ReadPID(dataDir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, PIDFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, ErrNotRunning
	}
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("malformed pid file %s", filepath.Join(dataDir, PIDFileName))
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return 0, ErrNotRunning
	}
	return pid, nil
}
