package main

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

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat:
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// procStat is what we read from /proc/<pid>/stat.
type procStat struct {
	PPID  int
	Ticks int64 // utime + stime
}

// parseStat parses the content of /proc/<pid>/stat. The command name
// (field 2) is in parentheses and may hold spaces and parentheses, so the
// fields are counted from the last ')'.
func parseStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, errors.New("no ')' after the command name")
	}
	// Fields from 3 (state) on: ppid is field 4, utime 14, stime 15.
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return procStat{}, fmt.Errorf("%d fields after the command name, want at least 13", len(f))
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return procStat{}, fmt.Errorf("ppid: %w", err)
	}
	utime, err := strconv.ParseInt(f[11], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("utime: %w", err)
	}
	stime, err := strconv.ParseInt(f[12], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("stime: %w", err)
	}
	return procStat{PPID: ppid, Ticks: utime + stime}, nil
}

// memInfo is a process's resident memory, in KiB: RSS = Anon + File
// (+ shared memory, which a Go process does not have).
type memInfo struct {
	RSS  int64 // VmRSS
	Anon int64 // RssAnon: heap, stacks, the runtime's private memory
	File int64 // RssFile: mapped pages of files, mostly the executable
}

// parseMem reads VmRSS, RssAnon and RssFile from the content of
// /proc/<pid>/status.
func parseMem(b []byte) (memInfo, error) {
	var m memInfo
	dst := map[string]*int64{"VmRSS:": &m.RSS, "RssAnon:": &m.Anon, "RssFile:": &m.File}
	found := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || dst[f[0]] == nil {
			continue
		}
		if len(f) != 3 || f[2] != "kB" {
			return memInfo{}, fmt.Errorf("unexpected line %q", sc.Text())
		}
		v, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return memInfo{}, fmt.Errorf("line %q: %w", sc.Text(), err)
		}
		*dst[f[0]] = v
		found++
	}
	if found != len(dst) {
		return memInfo{}, errors.New("no VmRSS, RssAnon and RssFile lines (a kernel thread, or a zombie)")
	}
	return m, nil
}

// pluginName names a plugin process by its executable's path, which the
// agent lays out as <plugin_dir>/<name>/<version>/<file>; cmdline is the
// NUL-separated content of /proc/<pid>/cmdline.
func pluginName(cmdline []byte) string {
	argv0, _, _ := bytes.Cut(cmdline, []byte{0})
	if len(argv0) == 0 {
		return ""
	}
	return filepath.Base(filepath.Dir(filepath.Dir(string(argv0))))
}

// proc reads /proc (or a fixture tree standing in for it).
type proc struct{ root string }

func (p proc) read(pid int, file string) ([]byte, error) {
	return os.ReadFile(filepath.Join(p.root, strconv.Itoa(pid), file))
}

func (p proc) stat(pid int) (procStat, error) {
	b, err := p.read(pid, "stat")
	if err != nil {
		return procStat{}, err
	}
	st, err := parseStat(b)
	if err != nil {
		return procStat{}, fmt.Errorf("parsing %s/%d/stat: %w", p.root, pid, err)
	}
	return st, nil
}

func (p proc) mem(pid int) (memInfo, error) {
	b, err := p.read(pid, "status")
	if err != nil {
		return memInfo{}, err
	}
	m, err := parseMem(b)
	if err != nil {
		return memInfo{}, fmt.Errorf("parsing %s/%d/status: %w", p.root, pid, err)
	}
	return m, nil
}

// children returns the pids whose parent is ppid, by scanning every
// process (it works without CONFIG_PROC_CHILDREN). Processes that vanish
// during the scan are skipped.
func (p proc) children(ppid int) ([]int, error) {
	entries, err := os.ReadDir(p.root)
	if err != nil {
		return nil, err
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !e.IsDir() {
			continue
		}
		st, err := p.stat(pid)
		if err != nil {
			continue
		}
		if st.PPID == ppid {
			out = append(out, pid)
		}
	}
	return out, nil
}
