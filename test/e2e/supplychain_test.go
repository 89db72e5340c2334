package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigilmon/vigil/test/lptest"
)

// run runs a binary and returns its stdout, failing the test on a non-zero exit.
func run(t *testing.T, dir string, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bins.Path(t, bin), args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", bin, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// runErr runs a binary expected to fail and returns stdout+stderr.
func runErr(t *testing.T, dir string, bin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bins.Path(t, bin), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// secretIn finds the first "vgr_..." secret in a command's JSON output.
func secretIn(t *testing.T, out string) string {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("decoding %q: %v", out, err)
	}
	for _, k := range []string{"secret", "plugin_key", "token"} {
		if s, ok := v[k].(string); ok && strings.HasPrefix(s, "vgr_") {
			return s
		}
	}
	t.Fatalf("no secret in %s", out)
	return ""
}

// The whole supply chain with the real binaries: a fresh registry, a
// publisher, the examples/hello plugin registered, packaged, published,
// evaluated and approved, installed on a fresh agent dir (lock file and
// agent.hcl edited, comments intact), and run by `vigil agent --once`.
func TestSupplyChainEndToEnd(t *testing.T) {
	reg := newRegistryServer(t)
	work := t.TempDir()
	admin := []string{"--registry", reg.url, "--token", reg.admin, "--format", "json"}

	pubToken := secretIn(t, run(t, work, "vigil-registry", append([]string{"token", "create", "--role", "publisher", "--publisher", "acme"}, admin...)...))
	keyFile := filepath.Join(work, "signing.key")
	var key struct {
		PublicKey string `json:"public_key"`
	}
	if err := json.Unmarshal([]byte(run(t, work, "vigil", "plugin", "keygen", "--out", keyFile, "--format", "json")), &key); err != nil || !strings.HasPrefix(key.PublicKey, "ed25519:") {
		t.Fatalf("keygen: %+v %v", key, err)
	}
	// The publisher registers its signing key with the registry.
	run(t, work, "vigil", "plugin", "key", "add", "acme", "--key", keyFile, "--registry", reg.url, "--token", pubToken)

	dist := filepath.Join(work, "dist")
	hello, _ := filepath.Abs("../../examples/hello")
	run(t, work, "vigil", "plugin", "package", hello, "--name", "hello", "--version", "0.1.0", "--key", keyFile, "--platform", "linux/amd64", "--out", dist)
	pluginKey := secretIn(t, run(t, work, "vigil", "plugin", "register", "hello", "--registry", reg.url, "--token", pubToken, "--description", "files", "--format", "json"))
	report := run(t, work, "vigil", "plugin", "publish", dist, "--registry", reg.url, "--plugin-key", pluginKey, "--key", keyFile, "--wait")
	if !strings.Contains(report, "passed") {
		t.Fatalf("publish --wait did not report a passed evaluation:\n%s", report)
	}
	agentToken := secretIn(t, run(t, work, "vigil-registry", append([]string{"token", "create", "--role", "agent", "--node", "e2e"}, admin...)...))
	// Refusals with the real binaries: an agent token cannot approve, and
	// a release that passed evaluation is not installable until approved.
	if out, err := runErr(t, work, "vigil-registry", "approve", "hello", "0.1.0", "--registry", reg.url, "--token", agentToken); err == nil || !strings.Contains(out, "403") && !strings.Contains(strings.ToLower(out), "not allowed") && !strings.Contains(strings.ToLower(out), "forbidden") {
		t.Errorf("an agent token approved a release (err %v):\n%s", err, out)
	}
	early := t.TempDir()
	os.WriteFile(filepath.Join(early, "agent.hcl"), []byte(fmt.Sprintf("agent {\n  data_dir = \"data\"\n}\nregistry {\n  url   = %q\n  token = %q\n}\n", reg.url, agentToken)), 0o644)
	if out, err := runErr(t, early, "vigil", "install", "hello", "0.1.0", "--config", filepath.Join(early, "agent.hcl")); err == nil {
		t.Errorf("an unapproved release was installed:\n%s", out)
	} else if _, statErr := os.Stat(filepath.Join(early, "vigil.lock.hcl")); statErr == nil {
		t.Errorf("a refused install wrote a lock file")
	}
	run(t, work, "vigil-registry", "approve", "hello", "0.1.0", "--registry", reg.url, "--token", reg.admin)

	// A fresh agent dir whose agent.hcl is full of comments.
	agentDir := t.TempDir()
	watched := filepath.Join(agentDir, "watched")
	os.MkdirAll(watched, 0o755)
	os.WriteFile(filepath.Join(watched, "a.txt"), []byte("hello"), 0o644)
	conf := filepath.Join(agentDir, "agent.hcl")
	original := fmt.Sprintf(`# Operator's notes: keep these comments.
agent {
  node     = "e2e" # this node
  data_dir = "data"
}

# Where plugins come from.
registry {
  url   = %q
  token = %q
}

output "file" { path = "points.lp" } # everything lands here
`, reg.url, agentToken)
	os.WriteFile(conf, []byte(original), 0o644)
	// A running agent: install tells it to reload and reports the outcome.
	daemon := exec.Command(bins.Path(t, "vigil"), "agent", "--config", conf)
	daemon.Dir = agentDir
	var daemonLog bytes.Buffer
	daemon.Stdout, daemon.Stderr = &daemonLog, &daemonLog
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		daemon.Process.Signal(syscall.SIGTERM)
		daemon.Wait()
		if t.Failed() {
			t.Logf("agent log:\n%s", daemonLog.String())
		}
	}()
	statusFile := filepath.Join(agentDir, "data", "vigil.status.json")
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(statusFile); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent wrote no status file:\n%s", daemonLog.String())
		}
	}
	out := run(t, agentDir, "vigil", "install", "hello", "~> 0.1", "--config", conf)
	// hello needs a path to watch that install cannot guess, so the agent
	// refuses the new configuration, keeps running, and install says why.
	if !strings.Contains(out, "Told the running agent") || !strings.Contains(out, "rejected the new configuration") || !strings.Contains(out, "paths") {
		t.Errorf("install did not report the agent's refusal:\n%s", out)
	}
	if !strings.Contains(out, `+plugin "hello" {`) {
		t.Errorf("install printed no diff adding the plugin block:\n%s", out)
	}
	edited, _ := os.ReadFile(conf)
	for _, line := range strings.Split(original, "\n") {
		if !strings.Contains(string(edited), line) {
			t.Errorf("agent.hcl lost the line %q:\n%s", line, edited)
		}
	}
	lock, _ := os.ReadFile(filepath.Join(agentDir, "vigil.lock.hcl"))
	for _, want := range []string{`plugin "hello"`, `version     = "0.1.0"`, `constraints = "~> 0.1"`, `source      = "` + reg.url, "signing_key", "binary  = \"sha256:", "archive = \"sha256:"} {
		if !strings.Contains(string(lock), want) {
			t.Errorf("lock file lacks %q:\n%s", want, lock)
		}
	}
	// hello needs to know what to watch: set it in place, then run once.
	run(t, agentDir, "vigil", "config", "set", "--config", conf, "plugin.hello.config.paths", fmt.Sprintf(`[%q]`, filepath.Join(watched, "*.txt")))
	// Now the running agent accepts it: hello comes up on SIGHUP.
	before, _ := os.ReadFile(statusFile)
	daemon.Process.Signal(syscall.SIGHUP)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		now, _ := os.ReadFile(statusFile)
		if !bytes.Equal(now, before) && bytes.Contains(now, []byte(`"name": "hello"`)) {
			if !bytes.Contains(now, []byte(`"up": true`)) || bytes.Contains(now, []byte("reload_error")) {
				t.Fatalf("hello did not come up after the reload:\n%s", now)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no status after SIGHUP:\n%s", daemonLog.String())
		}
	}
	run(t, agentDir, "vigil", "agent", "--config", conf, "--once")
	data, err := os.ReadFile(filepath.Join(agentDir, "points.lp"))
	if err != nil {
		t.Fatal(err)
	}
	pts := lptest.Filter(lptest.Decode(t, data), "hello_file", map[string]string{"plugin": "hello", "node": "e2e"})
	if len(pts) == 0 {
		t.Fatalf("no points from the installed plugin:\n%s", data)
	}
}
