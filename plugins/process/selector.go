package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/vigilmon/vigil/sdk"
)

// commLen is the longest command name the kernel keeps (TASK_COMM_LEN-1).
const commLen = 15

// selector picks processes out of /proc. A process is selected when its
// pid is the pid file's, or its command name is one of names, or its
// command line matches cmdline; user, when set, narrows that down to the
// user's processes, or selects all of them when it is the only matcher.
type selector struct {
	root     string
	names    []string
	cmdline  *regexp.Regexp
	pidfile  string
	uid      int64 // -1: any user
	userName string
	// parent is set when no matcher is: the plugin then watches the
	// process that started it, the Vigil agent.
	parent int
}

// match is a selected process and the matcher that selected it.
type match struct {
	pid     int
	comm    string
	pattern string
}

// newSelector reads the selection attributes; a bad regular expression or
// an unknown user is an AttributeError. With no matcher at all the
// selector picks the plugin's parent, the agent, so that the defaults make
// a useful configuration (the agent watching itself).
func newSelector(cfg sdk.Config) (*selector, error) {
	s := &selector{root: cfg.String("proc_root"), names: cfg.Strings("names"), pidfile: cfg.String("pidfile"), uid: -1}
	if s.root == "" {
		return nil, sdk.AttributeError("proc_root", "Empty path", "proc_root must name the directory where procfs is mounted, such as \"/proc\"")
	}
	for i, n := range s.names {
		if n == "" {
			return nil, sdk.Diagnostics{sdk.Errorf([]string{"names", strconv.Itoa(i)}, "Empty name", "a command name cannot be empty")}
		}
	}
	if expr := cfg.String("cmdline"); expr != "" {
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, sdk.AttributeError("cmdline", "Invalid regular expression", "%v", err)
		}
		s.cmdline = re
	}
	if u := cfg.String("user"); u != "" {
		uid, err := lookupUID(u)
		if err != nil {
			return nil, sdk.AttributeError("user", "Unknown user", "%v; give a user name of this host or a numeric uid", err)
		}
		s.uid, s.userName = uid, u
	}
	if len(s.names) == 0 && s.cmdline == nil && s.pidfile == "" && s.uid < 0 {
		s.parent = os.Getppid()
	}
	return s, nil
}

func lookupUID(name string) (int64, error) {
	if uid, err := strconv.ParseUint(name, 10, 32); err == nil {
		return int64(uid), nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return 0, fmt.Errorf("looking up user %q: %w", name, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("user %q has the non-numeric uid %q", name, u.Uid)
	}
	return int64(uid), nil
}

// patterns lists the matchers in the order they are tried; a match's
// pattern is one of them.
func (s *selector) patterns() []string {
	if s.parent > 0 {
		return []string{"agent"}
	}
	var out []string
	if s.pidfile != "" {
		out = append(out, s.pidfile)
	}
	out = append(out, s.names...)
	if s.cmdline != nil {
		out = append(out, s.cmdline.String())
	}
	if s.onlyUser() {
		out = append(out, s.userName)
	}
	return out
}

func (s *selector) onlyUser() bool {
	return len(s.names) == 0 && s.cmdline == nil && s.pidfile == "" && s.uid >= 0
}

// describe says what is selected, in check_procs' words.
func (s *selector) describe() string {
	if s.parent > 0 {
		return fmt.Sprintf("the agent (pid %d)", s.parent)
	}
	var parts []string
	if len(s.names) > 0 {
		q := make([]string, len(s.names))
		for i, n := range s.names {
			q[i] = "'" + n + "'"
		}
		parts = append(parts, "command name "+strings.Join(q, " or "))
	}
	if s.cmdline != nil {
		parts = append(parts, "regex args '"+s.cmdline.String()+"'")
	}
	if s.pidfile != "" {
		parts = append(parts, "pid file '"+s.pidfile+"'")
	}
	if s.uid >= 0 {
		p := fmt.Sprintf("UID = %d", s.uid)
		if s.userName != strconv.FormatInt(s.uid, 10) {
			p += " (" + s.userName + ")"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}

// find returns the selected processes, in /proc order. Processes that
// exit during the scan are left out.
func (s *selector) find(ctx context.Context) ([]match, error) {
	if s.parent > 0 {
		comm, err := os.ReadFile(filepath.Join(s.root, strconv.Itoa(s.parent), "comm"))
		if err != nil {
			return nil, gone(err)
		}
		return []match{{pid: s.parent, comm: strings.TrimSuffix(string(comm), "\n"), pattern: "agent"}}, nil
	}
	filePID, err := s.readPidfile()
	if err != nil {
		return nil, err
	}
	var pids []int
	if s.pidfile != "" && len(s.names) == 0 && s.cmdline == nil {
		// Only the pid file selects: no need to scan.
		if filePID > 0 {
			pids = []int{filePID}
		}
	} else if pids, err = listPIDs(s.root); err != nil {
		return nil, err
	}
	var out []match
	for i, pid := range pids {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("process scan interrupted: %w", err)
			}
		}
		m, ok, err := s.matchPID(pid, filePID)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, m)
		}
	}
	return out, nil
}

// matchPID reports whether pid is selected; a vanished process is not.
func (s *selector) matchPID(pid, filePID int) (match, bool, error) {
	dir := filepath.Join(s.root, strconv.Itoa(pid))
	comm, err := os.ReadFile(filepath.Join(dir, "comm"))
	if err != nil {
		return match{}, false, gone(err)
	}
	m := match{pid: pid, comm: strings.TrimSuffix(string(comm), "\n")}
	if pid == filePID {
		m.pattern = s.pidfile
	} else if name := s.matchName(m.comm); name != "" {
		m.pattern = name
	} else if s.cmdline != nil {
		raw, err := os.ReadFile(filepath.Join(dir, "cmdline"))
		if err != nil {
			return match{}, false, gone(err)
		}
		if s.cmdline.MatchString(joinCmdline(raw)) {
			m.pattern = s.cmdline.String()
		}
	}
	if m.pattern == "" && s.onlyUser() {
		m.pattern = s.userName
	}
	if m.pattern == "" {
		return match{}, false, nil
	}
	if s.uid >= 0 {
		uid, err := readUID(filepath.Join(dir, "status"))
		if err != nil {
			return match{}, false, gone(err)
		}
		if uid != s.uid {
			return match{}, false, nil
		}
	}
	return m, true, nil
}

// matchName returns the configured name comm stands for, or "".
func (s *selector) matchName(comm string) string {
	for _, n := range s.names {
		if n == comm || (len(n) > commLen && n[:commLen] == comm) {
			return n
		}
	}
	return ""
}

// gone turns the error of a process that exited mid-scan (its /proc
// directory vanished) into "not selected"; other errors stay errors.
func gone(err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return fmt.Errorf("reading process: %w", err)
}

// joinCmdline turns the NUL-separated /proc/<pid>/cmdline into one line.
func joinCmdline(raw []byte) string {
	raw = bytes.TrimRight(raw, "\x00")
	return string(bytes.ReplaceAll(raw, []byte{0}, []byte{' '}))
}

// readPidfile returns the pid in the pid file, 0 when there is no pid
// file or it does not exist.
func (s *selector) readPidfile() (int, error) {
	if s.pidfile == "" {
		return 0, nil
	}
	data, err := os.ReadFile(s.pidfile)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading pid file: %w", err)
	}
	pid, err := parsePidfile(data)
	if err != nil {
		return 0, fmt.Errorf("reading pid file %s: %w", s.pidfile, err)
	}
	return pid, nil
}

// parsePidfile parses the first line of a pid file: a positive integer.
func parsePidfile(data []byte) (int, error) {
	line, _, _ := bytes.Cut(data, []byte{'\n'})
	f := strings.TrimSpace(string(line))
	pid, err := strconv.Atoi(f)
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%q is not a process id", f)
	}
	return pid, nil
}

// listPIDs returns the numeric entries of the proc root.
func listPIDs(root string) ([]int, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}
	pids := make([]int, 0, len(entries))
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// readUID returns the real uid of /proc/<pid>/status.
func readUID(path string) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return parseStatusUID(data)
}

func parseStatusUID(data []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "Uid:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			break
		}
		uid, err := strconv.ParseUint(f[0], 10, 32)
		if err != nil {
			return 0, fmt.Errorf("parsing uid %q: %w", f[0], err)
		}
		return int64(uid), nil
	}
	return 0, errors.New("status has no Uid line")
}
