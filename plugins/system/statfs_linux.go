package main

import (
	"fmt"
	"syscall"
)

func statfs(path string) (fsUsage, error) {
	var s syscall.Statfs_t
	if err := syscall.Statfs(path, &s); err != nil {
		return fsUsage{}, fmt.Errorf("statfs: %w", err)
	}
	bs := uint64(s.Frsize)
	if bs == 0 {
		bs = uint64(s.Bsize)
	}
	return fsUsage{BlockSize: bs, Blocks: s.Blocks, Bfree: s.Bfree, Bavail: s.Bavail, Files: s.Files, Ffree: s.Ffree}, nil
}
