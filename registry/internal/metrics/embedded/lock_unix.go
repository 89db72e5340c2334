//go:build unix

package embedded

import (
	"fmt"
	"os"
	"syscall"
)

// lockDir takes an exclusive advisory lock on path, so that two processes
// never share one store (their logs would interleave). The kernel drops it
// when the process dies.
func lockDir(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s (is another registry using it?): %w", path, err)
	}
	return f, nil
}
