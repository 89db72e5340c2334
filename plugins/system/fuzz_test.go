package main

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

// seed adds the fixture files as the seed corpus.
func seed(f *testing.F, files ...string) {
	f.Helper()
	for _, name := range files {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

func FuzzParseStat(f *testing.F) {
	seed(f, "proc/stat", "proc2/stat")
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := parseStat(data)
		if err != nil {
			return
		}
		for _, c := range st.cores {
			v, ok := cpuUsage(cpuTimes{}, c.times)
			for _, x := range v {
				if ok && (math.IsNaN(x) || x < 0) {
					t.Fatalf("%s: usage %v", c.name, v)
				}
			}
		}
	})
}

func FuzzParseKV(f *testing.F) {
	seed(f, "proc/meminfo", "proc/vmstat")
	f.Fuzz(func(t *testing.T, data []byte) {
		mi := parseKV(data)
		if _, err := memFields(mi); err != nil && mi["MemTotal"] != 0 {
			t.Fatalf("memFields failed with MemTotal present: %v", err)
		}
		swapFields(mi, mi, 4096)
	})
}

func FuzzParseMounts(f *testing.F) {
	seed(f, "proc/self/mounts")
	f.Fuzz(func(t *testing.T, data []byte) {
		seen := map[string]bool{}
		for _, m := range parseMounts(data) {
			if seen[m.path] {
				t.Fatalf("mount point %q twice", m.path)
			}
			seen[m.path] = true
		}
	})
}

func FuzzParseDiskstats(f *testing.F) {
	seed(f, "proc/diskstats")
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, d := range parseDiskstats(data) {
			if d.name == "" {
				t.Fatal("device without a name")
			}
			diskioFields(d)
		}
	})
}

func FuzzParseNetDev(f *testing.F) {
	seed(f, "proc/net/dev")
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, s := range parseNetDev(data) {
			if s.name == "" {
				t.Fatal("interface without a name")
			}
		}
	})
}

func FuzzParseLoadavg(f *testing.F) {
	seed(f, "proc/loadavg")
	f.Fuzz(func(t *testing.T, data []byte) {
		parseLoadavg(data)
	})
}

func FuzzParseUptime(f *testing.F) {
	seed(f, "proc/uptime")
	f.Fuzz(func(t *testing.T, data []byte) {
		if v, err := parseUptime(data); err == nil && v < 0 {
			t.Fatalf("negative uptime %d", v)
		}
	})
}

func FuzzCountUtmpUsers(f *testing.F) {
	f.Add(append(utmpRecord(utmpUserProcess, "alice"), utmpRecord(2, "reboot")...))
	f.Add([]byte{7, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if n := countUtmpUsers(data); n < 0 || n > len(data)/utmpRecordSize {
			t.Fatalf("%d users in %d bytes", n, len(data))
		}
	})
}
