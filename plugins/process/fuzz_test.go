package main

import (
	"os"
	"testing"
)

func seedFiles(f *testing.F, files ...string) {
	f.Helper()
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

func FuzzParsePidStat(f *testing.F) {
	seedFiles(f, "testdata/proc/100/stat", "testdata/proc/400/stat")
	f.Fuzz(func(t *testing.T, data []byte) {
		if st, err := parsePidStat(data); err == nil && st.threads < 0 {
			t.Fatalf("negative thread count %d", st.threads)
		}
	})
}

func FuzzParseIO(f *testing.F) {
	seedFiles(f, "testdata/proc/100/io")
	f.Fuzz(func(t *testing.T, data []byte) {
		parseIO(data)
	})
}

func FuzzParseStatusUID(f *testing.F) {
	seedFiles(f, "testdata/proc/100/status")
	f.Fuzz(func(t *testing.T, data []byte) {
		if uid, err := parseStatusUID(data); err == nil && (uid < 0 || uid > 1<<32-1) {
			t.Fatalf("uid %d out of range", uid)
		}
	})
}

func FuzzParsePidfile(f *testing.F) {
	seedFiles(f, "testdata/nginx.pid", "testdata/bad.pid")
	f.Fuzz(func(t *testing.T, data []byte) {
		if pid, err := parsePidfile(data); err == nil && pid <= 0 {
			t.Fatalf("pid %d accepted", pid)
		}
	})
}

func FuzzJoinCmdline(f *testing.F) {
	seedFiles(f, "testdata/proc/100/cmdline", "testdata/proc/400/cmdline")
	f.Fuzz(func(t *testing.T, data []byte) {
		if s := joinCmdline(data); len(s) > len(data) {
			t.Fatalf("joined %d bytes into %d", len(data), len(s))
		}
	})
}
