//go:build !linux

package influxtest

import "syscall"

// procAttr has nothing to set outside Linux: Stop kills influxd itself.
func procAttr() *syscall.SysProcAttr { return nil }

// killGroup has no group to kill outside Linux.
func killGroup(pid int) {}
