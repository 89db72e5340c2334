package command

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const editConf = `# Agent configuration.
agent {
  interval = "10s" # default for everything
  tags     = { site = "paris" }
}

plugin "system" {
  version = "1.2.0"
  # file systems
  config = { disk_fs_types = ["ext4"] }
}
`

func TestConfigGet(t *testing.T) {
	_, conf := agentDir(t, editConf)
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string // substring
	}{
		{name: "duration", args: []string{"agent.interval"}, stdout: "\"10s\"\n"},
		{name: "object key", args: []string{"agent.tags.site"}, stdout: "\"paris\"\n"},
		{name: "json", args: []string{"plugin.system.config.disk_fs_types", "--format", "json"},
			stdout: "{\n  \"path\": \"plugin.system.config.disk_fs_types\",\n  \"source\": \"[\\\"ext4\\\"]\",\n  \"value\": [\n    \"ext4\"\n  ]\n}\n"},
		{name: "not set", args: []string{"agent.jitter"}, code: ExitFailure, stderr: "agent.jitter is not set"},
		{name: "unknown path", args: []string{"agent.intervall"}, code: ExitUsage, stderr: `Did you mean "interval"?`},
		{name: "no path", args: nil, code: ExitUsage, stderr: "expected PATH, got 0 arguments"},
		{name: "bad format", args: []string{"agent.interval", "--format", "xml"}, code: ExitUsage, stderr: "--format must be human or json"},
		{name: "missing file", args: []string{"agent.interval", "--config", conf + ".nope"}, code: ExitFailure, stderr: "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"config", "get", "--config", conf}, tc.args...)
			r := vigil(args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\nstderr: %s", r.code, tc.code, r.stderr)
			}
			if tc.code == ExitOK {
				if diff := cmp.Diff(tc.stdout, r.stdout); diff != "" {
					t.Errorf("stdout (-want +got):\n%s", diff)
				}
			}
			if !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, r.stderr)
			}
		})
	}
}

func TestConfigSetAndUnset(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string // exact for ExitOK
		stderr string // substring
		file   string // the file afterwards; "" means unchanged
	}{
		{
			name: "set writes and prints the diff",
			args: []string{"config", "set", "agent.interval", "30s"},
			stdout: "--- a/CONF\n+++ b/CONF\n@@ -1,6 +1,6 @@\n # Agent configuration.\n agent {\n-  interval = \"10s\" # default for everything\n+  interval = \"30s\" # default for everything\n" +
				"   tags     = { site = \"paris\" }\n }\n \nWrote CONF.\n",
			file: strings.Replace(editConf, `"10s"`, `"30s"`, 1),
		},
		{
			name:   "set a new config key",
			args:   []string{"config", "set", "plugin.system.config.mounts", "3"},
			stdout: "--- a/CONF\n+++ b/CONF\n@@ -7,5 +7,5 @@\n plugin \"system\" {\n   version = \"1.2.0\"\n   # file systems\n-  config = { disk_fs_types = [\"ext4\"] }\n+  config = { disk_fs_types = [\"ext4\"], mounts = 3 }\n }\nWrote CONF.\n",
			file:   strings.Replace(editConf, `["ext4"] }`, `["ext4"], mounts = 3 }`, 1),
		},
		{
			name:   "dry run writes nothing",
			args:   []string{"config", "set", "--dry-run", "agent.interval", "30s"},
			stdout: "--- a/CONF\n+++ b/CONF\n@@ -1,6 +1,6 @@\n # Agent configuration.\n agent {\n-  interval = \"10s\" # default for everything\n+  interval = \"30s\" # default for everything\n   tags     = { site = \"paris\" }\n }\n \n",
		},
		{
			name:   "same value",
			args:   []string{"config", "set", "agent.interval", "10s"},
			stdout: "CONF is unchanged.\n",
		},
		{
			name:   "unset removes the comment above",
			args:   []string{"config", "unset", "plugin.system.config"},
			stdout: "--- a/CONF\n+++ b/CONF\n@@ -6,6 +6,4 @@\n \n plugin \"system\" {\n   version = \"1.2.0\"\n-  # file systems\n-  config = { disk_fs_types = [\"ext4\"] }\n }\nWrote CONF.\n",
			file:   strings.Replace(editConf, "  # file systems\n  config = { disk_fs_types = [\"ext4\"] }\n", "", 1),
		},
		{
			name:   "unset of what is not set",
			args:   []string{"config", "unset", "agent.jitter"},
			stdout: "agent.jitter is not set in CONF; nothing to do.\n",
		},
		{name: "bad value", args: []string{"config", "set", "agent.interval", "soon"}, code: ExitUsage, stderr: `"soon" is not a duration`},
		{name: "unknown attribute", args: []string{"config", "set", "agent.intervl", "1s"}, code: ExitUsage, stderr: `Did you mean "interval"?`},
		{name: "missing value", args: []string{"config", "set", "agent.interval"}, code: ExitUsage, stderr: "expected PATH and VALUE, got 1 arguments"},
		{name: "invalid result", args: []string{"config", "unset", "plugin.system.version"}, code: ExitFailure,
			stderr: "refusing the change"},
		{name: "invalid result shows the diagnostic", args: []string{"config", "set", "agent.tags.node", "x"}, code: ExitFailure,
			stderr: "Reserved tag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, conf := agentDir(t, editConf)
			r := vigil(append(tc.args, "--config", conf)...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.code, r.stdout, r.stderr)
			}
			if tc.code == ExitOK {
				if diff := cmp.Diff(strings.ReplaceAll(tc.stdout, "CONF", conf), r.stdout); diff != "" {
					t.Errorf("stdout (-want +got):\n%s", diff)
				}
			}
			if !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, r.stderr)
			}
			want := tc.file
			if want == "" {
				want = editConf
			}
			got, err := os.ReadFile(conf)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, string(got)); diff != "" {
				t.Errorf("file (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConfigSetJSON(t *testing.T) {
	_, conf := agentDir(t, editConf)
	r := vigil("config", "set", "--config", conf, "--format", "json", "agent.tags.role", "web")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var got struct {
		Path    string `json:"path"`
		Changed bool   `json:"changed"`
		Written bool   `json:"written"`
		Diff    string `json:"diff"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("%v:\n%s", err, r.stdout)
	}
	if got.Path != "agent.tags.role" || !got.Changed || !got.Written || !strings.Contains(got.Diff, `+  tags     = { site = "paris", role = "web" }`) {
		t.Errorf("unexpected output: %+v", got)
	}
}

// A missing configuration file is created by set.
func TestConfigSetCreatesFile(t *testing.T) {
	dir, _ := agentDir(t, "")
	conf := dir + "/new.hcl"
	r := vigil("config", "set", "--config", conf, "agent.interval", "30s")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	got, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("agent {\n  interval = \"30s\"\n}\n", string(got)); diff != "" {
		t.Error(diff)
	}
}
