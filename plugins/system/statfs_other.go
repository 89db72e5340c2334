//go:build !linux

package main

import "errors"

func statfs(path string) (fsUsage, error) {
	return fsUsage{}, errors.New("disk usage is only collected on Linux")
}
