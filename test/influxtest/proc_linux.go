package influxtest

import "syscall"

// procAttr puts influxd in its own process group (a terminal's ^C reaches
// only the program that started it, which stops it in order) and has the
// kernel kill it when that program dies.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup kills the process group that procAttr made.
func killGroup(pid int) { _ = syscall.Kill(-pid, syscall.SIGKILL) }
