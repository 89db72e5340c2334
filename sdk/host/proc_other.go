//go:build !linux

package host

import "os/exec"

// setProcAttr has nothing to set outside Linux; the SDK's parent watch
// still ends an orphaned plugin.
func setProcAttr(cmd *exec.Cmd) {}
