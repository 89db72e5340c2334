package main

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/test/procfs"
)

func TestPluginName(t *testing.T) {
	for in, want := range map[string]string{
		"/tmp/vi1/data/plugins/system/0.1.0/vigil-plugin-system\x00": "system",
		"data/plugins/net/0.1.0/net\x00--flag\x00":                   "net",
		"": "",
	} {
		if got := pluginName([]byte(in)); got != want {
			t.Errorf("pluginName(%q) = %q, want %q", in, got, want)
		}
	}
}

// fakeProc writes a /proc-like tree: pid -> (ppid, ticks, rss KiB, argv0).
func fakeProc(t *testing.T, procs map[int]struct {
	ppid, ticks, rss int
	argv0            string
}) procfs.FS {
	t.Helper()
	root := t.TempDir()
	for pid, p := range procs {
		dir := filepath.Join(root, strconv.Itoa(pid))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		stat := strconv.Itoa(pid) + " (x) S " + strconv.Itoa(p.ppid) + " 0 0 0 -1 0 0 0 0 0 " + strconv.Itoa(p.ticks) + " 0 0 0 20 0 1 0 1 1 1\n"
		files := map[string]string{
			"stat":    stat,
			"status":  "Name:\tx\nVmRSS:\t" + strconv.Itoa(p.rss) + " kB\nRssAnon:\t" + strconv.Itoa(p.rss/4) + " kB\nRssFile:\t" + strconv.Itoa(p.rss-p.rss/4) + " kB\n",
			"cmdline": p.argv0 + "\x00",
		}
		for name, content := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Entries that are not processes are skipped.
	if err := os.WriteFile(filepath.Join(root, "uptime"), []byte("1 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return procfs.FS{Root: root}
}

func TestSampler(t *testing.T) {
	type p = struct {
		ppid, ticks, rss int
		argv0            string
	}
	first := fakeProc(t, map[int]p{
		100: {1, 1000, 15000, "/usr/bin/vigil"},
		101: {100, 50, 9000, "/d/plugins/system/0.1.0/vigil-plugin-system"},
		102: {100, 70, 8000, "/d/plugins/process/0.1.0/vigil-plugin-process"},
		103: {100, 10, 7000, "/d/plugins/net/0.1.0/vigil-plugin-net"},
		200: {1, 99999, 1, "/usr/bin/other"},
	})
	// Ten seconds later: the agent used 20 ticks, the net plugin was
	// restarted under a new pid (its old pid's time counts until it went).
	second := fakeProc(t, map[int]p{
		100: {1, 1020, 17000, "/usr/bin/vigil"},
		101: {100, 60, 11000, "/d/plugins/system/0.1.0/vigil-plugin-system"},
		102: {100, 70, 8000, "/d/plugins/process/0.1.0/vigil-plugin-process"},
		104: {100, 3, 13000, "/d/plugins/net/0.1.0/vigil-plugin-net"},
	})
	s := newSampler(first, 100)
	if err := s.sample(); err != nil {
		t.Fatal(err)
	}
	s.proc = second
	if err := s.sample(); err != nil {
		t.Fatal(err)
	}
	s.last = s.first.Add(10 * time.Second)
	got := s.report(options{interval: 10 * time.Second})
	want := &report{
		WindowSeconds: 10, Samples: 2, AgentInterval: "10s",
		Processes: []procReport{
			{Name: "agent", Pids: []int{100}, Samples: 2, RSSMaxKiB: 17000, RSSMeanKiB: 16000, AnonKiB: 4250, FileKiB: 12750, CPUPercent: 2},
			{Name: "system", Pids: []int{101}, Samples: 2, RSSMaxKiB: 11000, RSSMeanKiB: 10000, AnonKiB: 2750, FileKiB: 8250, CPUPercent: 1},
			{Name: "process", Pids: []int{102}, Samples: 2, RSSMaxKiB: 8000, RSSMeanKiB: 8000, AnonKiB: 2000, FileKiB: 6000, CPUPercent: 0},
			{Name: "net", Pids: []int{103, 104}, Samples: 2, RSSMaxKiB: 13000, RSSMeanKiB: 10000, AnonKiB: 3250, FileKiB: 9750, CPUPercent: 0},
		},
		Targets: []targetCheck{
			{Target: "agent RSS (max)", Limit: 20, Measured: 17000.0 / 1024, Unit: "MiB", OK: true},
			{Target: "agent CPU", Limit: 1, Measured: 2, Unit: "% of a core", OK: false},
			{Target: "system plugin RSS (max)", Limit: 12, Measured: 11000.0 / 1024, Unit: "MiB", OK: true},
			{Target: "process plugin RSS (max)", Limit: 12, Measured: 8000.0 / 1024, Unit: "MiB", OK: true},
			{Target: "net plugin RSS (max)", Limit: 12, Measured: 13000.0 / 1024, Unit: "MiB", OK: false},
		},
		Met: false,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
}

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr bool
	}{
		{name: "defaults", args: nil},
		{name: "json and binaries", args: []string{"--format", "json", "--vigil", "/v", "--net-plugin", "/n", "--agent-env", "GOGC=50"}},
		{name: "sample too long", args: []string{"--sample", "5s"}, wantErr: true},
		{name: "duration shorter than two samples", args: []string{"--duration", "1s"}, wantErr: true},
		{name: "bad format", args: []string{"--format", "xml"}, wantErr: true},
		{name: "bad env", args: []string{"--agent-env", "GOGC"}, wantErr: true},
		{name: "argument", args: []string{"now"}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseArgs(tc.args, &discard{})
			if (err != nil) != tc.wantErr {
				t.Errorf("err = %v, want error %v", err, tc.wantErr)
			}
		})
	}
	o, err := parseArgs([]string{"--vigil", "/v", "--net-plugin", "/n", "--agent-env", "GOGC=50"}, &discard{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"vigil": "/v", "system": "", "process": "", "net": "/n"}
	if diff := cmp.Diff(want, o.bins); diff != "" {
		t.Errorf("bins (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"GOGC=50"}, o.agentEnv); diff != "" {
		t.Errorf("agentEnv (-want +got):\n%s", diff)
	}
}

type discard struct{}

func (*discard) Write(p []byte) (int, error) { return len(p), nil }
