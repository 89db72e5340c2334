package host

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts the plugin in its own process group (a terminal's ^C
// reaches the host, which shuts plugins down in order) and has the kernel
// kill it when the host dies.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
