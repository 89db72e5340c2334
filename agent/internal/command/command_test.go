package command

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/agent/internal/discovery"
	"github.com/vigilmon/vigil/hcl/lockfile"
)

func TestMainDispatch(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		code       int
		stdout     string // prefix
		stderr     string // substring
		usageOnErr bool
	}{
		{name: "no arguments", args: nil, code: ExitOK, stdout: "Usage: vigil <command>"},
		{name: "help", args: []string{"help"}, code: ExitOK, stdout: "Usage: vigil <command>"},
		{name: "--help", args: []string{"--help"}, code: ExitOK, stdout: "Usage: vigil <command>"},
		{name: "help of a command", args: []string{"help", "install"}, code: ExitOK, stdout: "Usage: vigil install"},
		{name: "help of a two-word command", args: []string{"help", "config", "validate"}, code: ExitOK, stdout: "Usage: vigil config validate"},
		{name: "command --help", args: []string{"version", "--help"}, code: ExitOK, stdout: "Usage: vigil version"},
		{name: "two-word command -h", args: []string{"config", "validate", "-h"}, code: ExitOK, stdout: "Usage: vigil config validate"},
		{name: "unknown command", args: []string{"bogus", "x"}, code: ExitUsage, stderr: `vigil: unknown command "bogus x"`, usageOnErr: true},
		{name: "half a command", args: []string{"config"}, code: ExitUsage, stderr: `vigil: unknown command "config"`, usageOnErr: true},
		{name: "bad flag", args: []string{"agent", "--once", "--test"}, code: ExitUsage, stderr: "--once and --test cannot be used together"},
		{name: "bad format", args: []string{"version", "--format", "xml"}, code: ExitUsage, stderr: `--format must be human or json, not "xml"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := vigil(tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tc.code, r.stdout, r.stderr)
			}
			if !strings.HasPrefix(r.stdout, tc.stdout) {
				t.Errorf("stdout does not start with %q:\n%s", tc.stdout, r.stdout)
			}
			if !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, r.stderr)
			}
			if tc.usageOnErr && !strings.Contains(r.stderr, "Usage: vigil <command>") {
				t.Errorf("no usage on stderr:\n%s", r.stderr)
			}
		})
	}
}

// The usage lists every command of the table with its synopsis.
func TestUsageListsEveryCommand(t *testing.T) {
	out := vigil("help").stdout
	for name, c := range Commands(Meta{}) {
		if !strings.Contains(out, name) || !strings.Contains(out, c.Synopsis()) {
			t.Errorf("usage lacks %q (%s):\n%s", name, c.Synopsis(), out)
		}
		if !strings.HasPrefix(c.Help(), "Usage: vigil "+name) {
			t.Errorf("help of %q does not start with its usage: %q", name, c.Help())
		}
	}
}

func TestVersion(t *testing.T) {
	r := vigil("version", "--format", "json")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var got struct {
		Version   string `json:"version"`
		Protocols []int  `json:"protocol_versions"`
		Platform  string `json:"platform"`
		Go        string `json:"go"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("decoding %q: %v", r.stdout, err)
	}
	want := got
	want.Version, want.Protocols, want.Platform, want.Go = "1.2.3-test", []int{1}, runtime.GOOS+"/"+runtime.GOARCH, runtime.Version()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("version JSON (-want +got):\n%s", d)
	}
	if h := vigil("version").stdout; !strings.HasPrefix(h, "vigil 1.2.3-test (plugin protocol [1]") {
		t.Errorf("human version: %q", h)
	}
}

// jsonDiags is the shape of `config validate --format json`.
type jsonDiags struct {
	Valid        bool `json:"valid"`
	ErrorCount   int  `json:"error_count"`
	WarningCount int  `json:"warning_count"`
	Diagnostics  []struct {
		Severity string `json:"severity"`
		Summary  string `json:"summary"`
		Range    *struct {
			Filename string `json:"filename"`
			Start    struct {
				Line   int `json:"line"`
				Column int `json:"column"`
			} `json:"start"`
		} `json:"range"`
	} `json:"diagnostics"`
}

type diagAt struct {
	Severity, Summary, At string
}

func (j jsonDiags) flat() []diagAt {
	var out []diagAt
	for _, d := range j.Diagnostics {
		at := ""
		if d.Range != nil {
			at = fmt.Sprintf("%s:%d:%d", filepath.Base(d.Range.Filename), d.Range.Start.Line, d.Range.Start.Column)
		}
		out = append(out, diagAt{d.Severity, d.Summary, at})
	}
	return out
}

func TestConfigValidate(t *testing.T) {
	const installed = `agent { data_dir = "data" }
plugin "counter" {
  version = "0.1.0"
  config  = { %s = 3 }
}
`
	for _, tc := range []struct {
		name    string
		body    string
		install bool
		flags   []string
		code    int
		human   []string // substrings of the human output
		json    jsonDiags
		diags   []diagAt
	}{
		{
			name: "valid without plugins", body: "agent {\n  node = \"n\"\n}\n", code: ExitOK,
			human: []string{"agent.hcl is valid."},
			json:  jsonDiags{Valid: true},
		},
		{
			name: "invalid duration", body: "agent {\n  interval = \"soon\"\n}\n", code: ExitFailure,
			human: []string{"agent.hcl:2:14: Error: Invalid duration", `2:   interval = "soon"`},
			json:  jsonDiags{ErrorCount: 1},
			diags: []diagAt{{"error", "Invalid duration", "agent.hcl:2:14"}},
		},
		{
			name: "plugin not installed", body: "agent { data_dir = \"data\" }\nplugin \"ghost\" {\n  version = \"1.0.0\"\n}\n", code: ExitFailure,
			human: []string{"agent.hcl:2:1: Error: Plugin not installed", "vigil install ghost"},
			json:  jsonDiags{ErrorCount: 1},
			diags: []diagAt{{"error", "Plugin not installed", "agent.hcl:2:1"}},
		},
		{
			name: "plugins not checked", body: "agent { data_dir = \"data\" }\nplugin \"ghost\" {\n  version = \"1.0.0\"\n}\n",
			flags: []string{"--plugins=false"}, code: ExitOK,
			human: []string{"agent.hcl is valid."},
			json:  jsonDiags{Valid: true},
		},
		{
			name: "plugin config valid", body: strings.ReplaceAll(installed, "%s", "points"), install: true, code: ExitOK,
			human: []string{"agent.hcl is valid."},
			json:  jsonDiags{Valid: true},
		},
		{
			name: "plugin config error", body: strings.ReplaceAll(installed, "%s", "pionts"), install: true, code: ExitFailure,
			human: []string{"agent.hcl:4:15: Error: Unsupported config key", `Did you mean "points"?`},
			json:  jsonDiags{ErrorCount: 1},
			diags: []diagAt{{"error", "Unsupported config key", "agent.hcl:4:15"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, conf := agentDir(t, tc.body)
			if tc.install {
				place(t, dir, counter(t), "counter", "0.1.0", true, "")
			}
			args := append([]string{"config", "validate", conf}, tc.flags...)
			r := vigil(args...)
			if r.code != tc.code {
				t.Errorf("human: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tc.code, r.stdout, r.stderr)
			}
			for _, want := range tc.human {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("human output lacks %q:\n%s", want, r.stdout)
				}
			}
			r = vigil(append(args, "--format", "json")...)
			if r.code != tc.code {
				t.Errorf("json: exit %d, want %d", r.code, tc.code)
			}
			var got jsonDiags
			if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
				t.Fatalf("decoding %q: %v", r.stdout, err)
			}
			if d := cmp.Diff(tc.diags, got.flat()); d != "" {
				t.Errorf("diagnostics (-want +got):\n%s", d)
			}
			got.Diagnostics = nil
			if d := cmp.Diff(tc.json, got); d != "" {
				t.Errorf("counts (-want +got):\n%s", d)
			}
		})
	}
}

func TestConfigValidateUsage(t *testing.T) {
	r := vigil("config", "validate")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "expected one FILE argument, got 0") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

// `vigil plugins` tells a verified plugin from one the lock file does not
// know and from one whose hash differs, which is never executed.
func TestPluginsStates(t *testing.T) {
	dir, conf := agentDir(t, "agent { data_dir = \"data\" }\nplugin \"counter\" {\n  version = \"0.1.0\"\n}\n")
	place(t, dir, counter(t), "counter", "0.1.0", true, "")
	place(t, dir, counter(t), "stray", "1.0.0", false, "")
	marker := filepath.Join(dir, "tampered-ran")
	script := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(script, []byte("#!/bin/sh\ntouch '"+marker+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	other := sha256.Sum256([]byte("the binary that was locked"))
	tampered := place(t, dir, script, "tampered", "1.0.0", true, "sha256:"+hex.EncodeToString(other[:]))

	r := vigil("plugins", "--config", conf, "--format", "json")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var got struct {
		PluginDir string `json:"plugin_dir"`
		Plugins   []struct {
			Name       string   `json:"name"`
			Version    string   `json:"version"`
			State      string   `json:"state"`
			Configured bool     `json:"configured"`
			Protocol   int      `json:"protocol_version"`
			Collectors []string `json:"collectors"`
			Error      string   `json:"error"`
		} `json:"plugins"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("decoding %q: %v", r.stdout, err)
	}
	type row struct {
		Name, Version, State string
		Configured           bool
		Protocol             int
		Collectors           []string
		HasError             bool
	}
	var rows []row
	for _, p := range got.Plugins {
		rows = append(rows, row{p.Name, p.Version, p.State, p.Configured, p.Protocol, p.Collectors, p.Error != ""})
	}
	want := []row{
		{"counter", "0.1.0", "ok", true, 1, []string{"seq"}, false},
		{"stray", "1.0.0", "not in lock file", false, 0, nil, false},
		{"tampered", "1.0.0", "hash mismatch (not executed)", false, 0, nil, true},
	}
	if d := cmp.Diff(want, rows); d != "" {
		t.Errorf("plugins (-want +got):\n%s", d)
	}
	if got.PluginDir != filepath.Join(dir, "data", "plugins") {
		t.Errorf("plugin_dir %q", got.PluginDir)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the tampered binary was executed (%v)", err)
	}

	h := vigil("plugins", "--config", conf)
	for _, want := range []string{"NAME", "counter", "hash mismatch (not executed)", "tampered 1.0.0: " + tampered + " has sha256:"} {
		if !strings.Contains(h.stdout, want) {
			t.Errorf("human output lacks %q:\n%s", want, h.stdout)
		}
	}
	if !strings.HasSuffix(h.stdout, "\n") {
		t.Errorf("human output does not end with a newline: %q", h.stdout)
	}
}

func TestPluginsEmpty(t *testing.T) {
	_, conf := agentDir(t, "agent { data_dir = \"data\" }\n")
	r := vigil("plugins", "--config", conf, "--format", "json")
	if r.code != ExitOK || !strings.Contains(r.stdout, `"plugins": []`) {
		t.Errorf("exit %d, stdout %s", r.code, r.stdout)
	}
	if h := vigil("plugins", "--config", conf).stdout; !strings.HasPrefix(h, "No plugins in ") {
		t.Errorf("human output: %q", h)
	}
}

func TestInstallFromFile(t *testing.T) {
	dir, conf := agentDir(t, "agent { data_dir = \"data\" }\n")
	src := counter(t)
	sum, err := lockfile.HashFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dest := discovery.Path(filepath.Join(dir, "data", "plugins"), "counter", "0.1.0")
	r := vigil("install", "--config", conf, "--from-file", src)
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if want := "Installed counter 0.1.0 (" + sum + ") to " + dest + "\n"; r.stdout != want {
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}
	a, _ := os.ReadFile(src)
	if b, err := os.ReadFile(dest); err != nil || !bytes.Equal(a, b) {
		t.Errorf("installed binary differs from the source (%v)", err)
	}
	lock, diags := lockfile.Load(filepath.Join(dir, "vigil.lock.hcl"))
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	e, ok := lock.Plugin("counter")
	if !ok {
		t.Fatal("counter not in the lock file")
	}
	want := lockfile.Entry{Name: "counter", Version: "0.1.0", Source: "local",
		Platforms: map[string]lockfile.PlatformHashes{discovery.Platform(): {Binary: sum}}}
	if d := cmp.Diff(want, *e); d != "" {
		t.Errorf("lock entry (-want +got):\n%s", d)
	}

	// The JSON view says the same.
	r = vigil("install", "--config", conf, "--from-file", src, "--format", "json")
	var got struct {
		Installed []struct{ Name, Version, Path, SHA256 string } `json:"installed"`
		Error     string                                         `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != ExitOK {
		t.Fatalf("exit %d, decoding %q: %v", r.code, r.stdout, err)
	}
	if len(got.Installed) != 1 || got.Installed[0].SHA256 != sum || got.Error != "" {
		t.Errorf("JSON: %+v", got)
	}
}

func TestInstallRefusals(t *testing.T) {
	dir, conf := agentDir(t, "agent { data_dir = \"data\" }\n")
	notPlugin := filepath.Join(dir, "not-a-plugin")
	if err := os.WriteFile(notPlugin, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no --from-file", []string{"install", "--config", conf}, ExitUsage, "give plugin binaries with --from-file"},
		{"a registry name", []string{"install", "--config", conf, "counter"}, ExitUsage, "give plugin binaries with --from-file"},
		{"not a plugin", []string{"install", "--config", conf, "--from-file", notPlugin}, ExitFailure, "installing " + notPlugin + ":"},
		{"bad config", []string{"install", "--config", filepath.Join(dir, "missing.hcl"), "--from-file", notPlugin}, ExitUsage, "Cannot read configuration file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := vigil(tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("exit %d (want %d), stderr lacks %q:\n%s", r.code, tc.code, tc.stderr, r.stderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "vigil.lock.hcl")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused install wrote the lock file (%v)", err)
	}
}

// The agent command runs the agent once; a bad configuration is a usage
// error.
func TestAgentCommandOnce(t *testing.T) {
	dir, conf := agentDir(t, "agent {\n  node = \"n1\"\n  data_dir = \"data\"\n}\nplugin \"counter\" {\n  version = \"0.1.0\"\n}\n")
	place(t, dir, counter(t), "counter", "0.1.0", true, "")
	r := vigil("agent", "--config", conf, "--test", "--log-level", "error")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if n := strings.Count("\n"+r.stdout, "\ncounter,"); n != 3 {
		t.Errorf("%d counter lines on stdout, want 3:\n%s", n, r.stdout)
	}
	r = vigil("agent", "--config", filepath.Join(dir, "missing.hcl"), "--once")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "Cannot read configuration file") {
		t.Errorf("missing config: exit %d, stderr %q", r.code, r.stderr)
	}
	r = vigil("agent", "--config", conf, "--log-level", "loud")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "--log-level must be") {
		t.Errorf("bad log level: exit %d, stderr %q", r.code, r.stderr)
	}
}
