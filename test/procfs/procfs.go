// Package procfs reads a process's CPU time, parent and resident memory
// from /proc (or a fixture tree standing in for it), for the benchmark
// commands that measure servers and agents from outside (test/bench/idle,
// test/bench/ingest).
//
// It is not a process library: it reads exactly the fields those
// measurements need, and fails loudly on anything unexpected.
package procfs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ClockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat:
// 100 on every Linux architecture Go supports.
const ClockTicks = 100

// Stat is what is read from /proc/<pid>/stat.
type Stat struct {
	PPID  int
	Ticks int64 // utime + stime, in ClockTicks
}

// ParseStat parses the content of /proc/<pid>/stat. The command name
// (field 2) is in parentheses and may hold spaces and parentheses, so the
// fields are counted from the last ')'.
func ParseStat(b []byte) (Stat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return Stat{}, errors.New("no ')' after the command name")
	}
	// Fields from 3 (state) on: ppid is field 4, utime 14, stime 15.
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return Stat{}, fmt.Errorf("%d fields after the command name, want at least 13", len(f))
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return Stat{}, fmt.Errorf("ppid: %w", err)
	}
	utime, err := strconv.ParseInt(f[11], 10, 64)
	if err != nil {
		return Stat{}, fmt.Errorf("utime: %w", err)
	}
	stime, err := strconv.ParseInt(f[12], 10, 64)
	if err != nil {
		return Stat{}, fmt.Errorf("stime: %w", err)
	}
	return Stat{PPID: ppid, Ticks: utime + stime}, nil
}

// Mem is a process's resident memory in KiB: RSS = Anon + File (+ shared
// memory, which a Go process does not have).
type Mem struct {
	RSS  int64 // VmRSS
	Anon int64 // RssAnon: heap, stacks, the runtime's private memory
	File int64 // RssFile: mapped pages of files, mostly the executable
}

// ParseMem reads VmRSS, RssAnon and RssFile from the content of
// /proc/<pid>/status; all three must be there.
func ParseMem(b []byte) (Mem, error) {
	var m Mem
	dst := map[string]*int64{"VmRSS:": &m.RSS, "RssAnon:": &m.Anon, "RssFile:": &m.File}
	found := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || dst[f[0]] == nil {
			continue
		}
		if len(f) != 3 || f[2] != "kB" {
			return Mem{}, fmt.Errorf("unexpected line %q", sc.Text())
		}
		v, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return Mem{}, fmt.Errorf("line %q: %w", sc.Text(), err)
		}
		*dst[f[0]] = v
		found++
	}
	if found != len(dst) {
		return Mem{}, errors.New("no VmRSS, RssAnon and RssFile lines (a kernel thread, or a zombie)")
	}
	return m, nil
}

// FS reads the /proc tree at Root ("/proc", or a fixture in tests).
type FS struct{ Root string }

func (p FS) read(pid int, file string) ([]byte, error) {
	return os.ReadFile(filepath.Join(p.Root, strconv.Itoa(pid), file))
}

// Stat reads and parses /proc/<pid>/stat.
func (p FS) Stat(pid int) (Stat, error) {
	b, err := p.read(pid, "stat")
	if err != nil {
		return Stat{}, err
	}
	st, err := ParseStat(b)
	if err != nil {
		return Stat{}, fmt.Errorf("parsing %s/%d/stat: %w", p.Root, pid, err)
	}
	return st, nil
}

// Mem reads and parses /proc/<pid>/status.
func (p FS) Mem(pid int) (Mem, error) {
	b, err := p.read(pid, "status")
	if err != nil {
		return Mem{}, err
	}
	m, err := ParseMem(b)
	if err != nil {
		return Mem{}, fmt.Errorf("parsing %s/%d/status: %w", p.Root, pid, err)
	}
	return m, nil
}

// Cmdline returns the NUL-separated content of /proc/<pid>/cmdline.
func (p FS) Cmdline(pid int) ([]byte, error) { return p.read(pid, "cmdline") }

// Children returns the pids whose parent is ppid, by scanning every
// process (it works without CONFIG_PROC_CHILDREN). Processes that vanish
// during the scan are skipped.
func (p FS) Children(ppid int) ([]int, error) {
	entries, err := os.ReadDir(p.Root)
	if err != nil {
		return nil, err
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !e.IsDir() {
			continue
		}
		st, err := p.Stat(pid)
		if err != nil {
			continue
		}
		if st.PPID == ppid {
			out = append(out, pid)
		}
	}
	return out, nil
}
