//go:build !unix

package embedded

import (
	"fmt"
	"os"
)

// lockDir opens the lock file; without flock, nothing stops a second
// process.
func lockDir(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return f, nil
}
