package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// children returns the pids whose parent is pid.
func children(pid int) []int {
	var out []int
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, s := range stats {
		b, err := os.ReadFile(s)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut at the last ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			c, _ := strconv.Atoi(filepath.Base(filepath.Dir(s)))
			out = append(out, c)
		}
	}
	return out
}

func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && !strings.HasPrefix(strings.TrimSpace(string(b[i+1:])), "Z")
}

// A plugin dies with its host: kill -9 the agent and its plugin processes
// are gone (Pdeathsig, backed by the SDK's own parent watch).
func TestPluginsDieWithTheAgent(t *testing.T) {
	a := newAgentDir(t, `
agent {
  node     = "e2e"
  data_dir = "data"
}
plugin "counter" {
  version = "0.1.0"
}
output "file" { path = "points.lp" }
`, "counter")
	cmd := exec.Command(bins.Path(t, "vigil"), "agent", "--config", a.conf)
	cmd.Dir = a.dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var kids []int
	for deadline := time.Now().Add(20 * time.Second); len(kids) == 0; {
		kids = children(cmd.Process.Pid)
		if time.Now().After(deadline) {
			t.Fatal("the agent started no plugin process")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	for deadline := time.Now().Add(10 * time.Second); ; {
		var left []int
		for _, k := range kids {
			if alive(k) {
				left = append(left, k)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, k := range left {
				syscall.Kill(k, syscall.SIGKILL)
			}
			t.Fatalf("plugin processes %v outlived the killed agent", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
