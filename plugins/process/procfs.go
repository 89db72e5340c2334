package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of the times in /proc/<pid>/stat: 100
// on every Linux architecture Vigil runs on.
const clockTicks = 100

// pidStat is what the plugin reads from /proc/<pid>/stat.
type pidStat struct {
	utime, stime uint64 // clock ticks
	threads      int64
	startTime    uint64 // clock ticks after boot
	vsize        uint64 // bytes
	rss          uint64 // pages
}

// parsePidStat parses /proc/<pid>/stat. The command name, field 2, is in
// parentheses and may itself hold spaces and parentheses, so fields are
// counted from the last ')'.
func parsePidStat(data []byte) (pidStat, error) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return pidStat{}, errors.New("no ')' after the command name")
	}
	// rest[0] is field 3 (state), so field n is rest[n-3].
	rest := strings.Fields(string(data[i+1:]))
	if len(rest) < 22 {
		return pidStat{}, fmt.Errorf("%d fields after the command name, want at least 22", len(rest))
	}
	field := func(n int) (uint64, error) {
		v, err := strconv.ParseUint(rest[n-3], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parsing field %d: %w", n, err)
		}
		return v, nil
	}
	var st pidStat
	for _, f := range []struct {
		n   int
		dst *uint64
	}{{14, &st.utime}, {15, &st.stime}, {22, &st.startTime}, {23, &st.vsize}, {24, &st.rss}} {
		v, err := field(f.n)
		if err != nil {
			return pidStat{}, err
		}
		*f.dst = v
	}
	threads, err := strconv.ParseInt(rest[20-3], 10, 64)
	if err != nil || threads < 0 {
		return pidStat{}, fmt.Errorf("parsing field 20: %q is not a thread count", rest[20-3])
	}
	st.threads = threads
	return st, nil
}

// parseIO returns read_bytes and write_bytes of /proc/<pid>/io.
func parseIO(data []byte) (read, write int64, err error) {
	var gotR, gotW bool
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, perr := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		switch {
		case k == "read_bytes" && perr == nil:
			read, gotR = n, true
		case k == "write_bytes" && perr == nil:
			write, gotW = n, true
		}
	}
	if !gotR || !gotW {
		return 0, 0, errors.New("no read_bytes and write_bytes")
	}
	return read, write, nil
}

// readUptime returns the seconds since boot of <root>/uptime.
func readUptime(root string) (float64, error) {
	data, err := os.ReadFile(filepath.Join(root, "uptime"))
	if err != nil {
		return 0, fmt.Errorf("reading uptime: %w", err)
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return 0, errors.New("reading uptime: empty file")
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return 0, fmt.Errorf("reading uptime: %w", err)
	}
	return v, nil
}

// countFDs counts the open file descriptors of a process; reading another
// user's fd directory needs privileges.
func countFDs(dir string) (int64, error) {
	f, err := os.Open(filepath.Join(dir, "fd"))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var n int64
	for {
		names, err := f.Readdirnames(1024)
		n += int64(len(names))
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
	}
}
