package command

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/agent/internal/agent"
	"github.com/vigilmon/vigil/agent/internal/discovery"
	"github.com/vigilmon/vigil/agent/internal/registryclient/registrytest"
	"github.com/vigilmon/vigil/hcl/agentconfig"
	"github.com/vigilmon/vigil/hcl/lockfile"
	"github.com/vigilmon/vigil/sdk/release"
	"github.com/vigilmon/vigil/test/testbin"
)

// registryAgent starts a fake registry serving counter at versions and
// writes an agent.hcl with comments that points at it.
func registryAgent(t *testing.T, versions ...string) (srv *registrytest.Server, dir, conf string, priv release.PrivateKey) {
	t.Helper()
	_, priv, err := release.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	srv = registrytest.New(t)
	srv.Token = "vgr_agent"
	here := release.Platform{OS: runtime.GOOS, Arch: runtime.GOARCH}
	for _, v := range versions {
		srv.Add(registrytest.Build(t, counter(t), "counter", v, here, priv))
	}
	dir, conf = agentDir(t, `# The agent.
agent {
  data_dir = "data" # relative to this file
}

# Where plugins come from.
registry {
  url   = "`+srv.URL+`"
  token = "vgr_agent"
}
`)
	return srv, dir, conf, priv
}

func TestInstallFromRegistry(t *testing.T) {
	srv, dir, conf, priv := registryAgent(t, "0.1.0", "0.0.9", "0.2.0-rc.1")
	before, _ := os.ReadFile(conf)
	r := vigil("install", "--config", conf, "counter", "~> 0.1")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	dest := discovery.Path(filepath.Join(dir, "data", "plugins"), "counter", "0.1.0")
	sum, err := lockfile.HashFile(dest)
	if err != nil {
		t.Fatal(err)
	}
	want := "Installed counter 0.1.0 from " + srv.URL + " (" + sum + ") to " + dest + "\n" +
		"Trusted signing key " + priv.Public().String() + " on first use; recorded in vigil.lock.hcl.\n" +
		"--- a/" + conf + "\n+++ b/" + conf + "\n"
	if !strings.HasPrefix(r.stdout, want) {
		t.Errorf("stdout:\n%s\nwant it to start with:\n%s", r.stdout, want)
	}
	for _, line := range []string{"+plugin \"counter\" {\n", "+  version = \"0.1.0\"\n", "Wrote " + conf + ".\nEnabled for counter: collector seq.\n",
		"No running agent found; it will pick up the change at its next start.\n"} {
		if !strings.Contains(r.stdout, line) {
			t.Errorf("stdout lacks %q:\n%s", line, r.stdout)
		}
	}
	after, _ := os.ReadFile(conf)
	// The new block spells out the collectors and their default config.
	wantConf := string(before) + "\nplugin \"counter\" {\n  version = \"0.1.0\"\n  collect = [\"seq\"]\n  config = {\n    points = 3\n    series = 1\n  }\n}\n"
	if d := cmp.Diff(wantConf, string(after)); d != "" {
		t.Errorf("agent.hcl (-want +got):\n%s", d)
	}
	e := lockEntry(t, dir, "counter")
	if e.Version != "0.1.0" || e.Constraints != "~> 0.1" || e.Source != srv.URL || e.SigningKey != priv.Public().String() ||
		e.Platforms[discovery.Platform()].Binary != sum || !lockfile.ValidHash(e.Platforms[discovery.Platform()].Archive) {
		t.Errorf("lock entry %+v", e)
	}
}

func lockEntry(t *testing.T, dir, name string) lockfile.Entry {
	t.Helper()
	lock, diags := lockfile.Load(filepath.Join(dir, "vigil.lock.hcl"))
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	e, ok := lock.Plugin(name)
	if !ok {
		return lockfile.Entry{}
	}
	return *e
}

func TestInstallTellsTheAgentToReload(t *testing.T) {
	_, dir, conf, _ := registryAgent(t, "0.1.0")
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	pid := os.Getpid()
	if err := os.WriteFile(filepath.Join(dir, "data", agent.PIDFileName), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := vigil("install", "--config", conf, "counter")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if want := "Told the running agent (process " + strconv.Itoa(pid) + ") to reload.\n"; !strings.HasSuffix(r.stdout, want) {
		t.Errorf("stdout:\n%s\nwant it to end with %q", r.stdout, want)
	}
	<-hup // the test fails by timing out if no SIGHUP came
}

func TestInstallFromRegistryFailures(t *testing.T) {
	_, dir, conf, _ := registryAgent(t, "0.1.0", "0.0.9")
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"version not found", []string{"counter", "1.0.0"}, ExitFailure, `vigil install: counter: no version of counter matches "1.0.0"; it has 0.1.0, 0.0.9`},
		{"unknown plugin", []string{"nosuch"}, ExitFailure, `the registry has no plugin "nosuch"`},
		{"bad constraint", []string{"counter", "=> 1"}, ExitUsage, `version constraint "=> 1"`},
		{"bad token", []string{"counter", "--token", "wrong"}, ExitFailure, "401: missing or unknown token"},
		{"no registry", []string{"counter", "--config", filepath.Join(t.TempDir(), "missing.hcl")}, ExitUsage, "Cannot read configuration file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := vigil(append([]string{"install", "--config", conf}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("exit %d (want %d), stderr lacks %q:\n%s", r.code, tc.code, tc.stderr, r.stderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "vigil.lock.hcl")); err == nil {
		t.Error("a failed install wrote the lock file")
	}
}

func TestUninstall(t *testing.T) {
	_, dir, conf, _ := registryAgent(t, "0.1.0")
	before, _ := os.ReadFile(conf)
	if r := vigil("install", "--config", conf, "counter"); r.code != ExitOK {
		t.Fatalf("install: exit %d: %s", r.code, r.stderr)
	}
	r := vigil("uninstall", "--config", conf, "counter")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, line := range []string{"-plugin \"counter\" {\n", "Uninstalled counter.\n"} {
		if !strings.Contains(r.stdout, line) {
			t.Errorf("stdout lacks %q:\n%s", line, r.stdout)
		}
	}
	after, _ := os.ReadFile(conf)
	if d := cmp.Diff(string(before), string(after)); d != "" {
		t.Errorf("agent.hcl after install and uninstall (-before +after):\n%s", d)
	}
	if e := lockEntry(t, dir, "counter"); e.Name != "" {
		t.Errorf("lock still has %+v", e)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "plugins", "counter")); !os.IsNotExist(err) {
		t.Errorf("plugin files remain (%v)", err)
	}
	r = vigil("uninstall", "--config", conf, "counter")
	if r.code != ExitOK || r.stdout != "counter is not installed; nothing to do.\n" {
		t.Errorf("second uninstall: exit %d, stdout %q", r.code, r.stdout)
	}
}

func TestUpgrade(t *testing.T) {
	srv, dir, conf, priv := registryAgent(t, "0.1.0", "0.0.9")
	// counter 0.0.9 was installed with the constraint "~> 0.0".
	src, _ := os.ReadFile(conf)
	if err := os.WriteFile(conf, append(src, []byte("\nplugin \"counter\" {\n  version = \"0.0.9\" # pinned by vigil\n}\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	lock := lockfile.New()
	lock.Set(lockfile.Entry{Name: "counter", Version: "0.0.9", Constraints: "~> 0.0", Source: srv.URL, SigningKey: priv.Public().String(),
		Platforms: map[string]lockfile.PlatformHashes{discovery.Platform(): {Binary: "sha256:" + strings.Repeat("0", 64)}}})
	if err := lock.Save(filepath.Join(dir, "vigil.lock.hcl")); err != nil {
		t.Fatal(err)
	}
	r := vigil("upgrade", "--config", conf)
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, line := range []string{"Upgraded counter 0.0.9 → 0.1.0 from " + srv.URL, "-  version = \"0.0.9\" # pinned by vigil\n", "+  version = \"0.1.0\" # pinned by vigil\n"} {
		if !strings.Contains(r.stdout, line) {
			t.Errorf("stdout lacks %q:\n%s", line, r.stdout)
		}
	}
	if e := lockEntry(t, dir, "counter"); e.Version != "0.1.0" || e.Constraints != "~> 0.0" {
		t.Errorf("lock entry %+v", e)
	}
	r = vigil("upgrade", "--config", conf, "counter")
	if r.code != ExitOK || !strings.Contains(r.stdout, "counter 0.1.0 is already installed") {
		t.Errorf("second upgrade: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestSearch(t *testing.T) {
	_, _, conf, _ := registryAgent(t, "0.1.0", "0.0.9")
	r := vigil("search", "--config", conf, "count")
	want := "NAME     LATEST  OWNER  DESCRIPTION\ncounter  0.1.0   acme   the counter plugin\n"
	if r.code != ExitOK || r.stdout != want {
		t.Errorf("exit %d, stdout:\n%s\nwant:\n%s\nstderr: %s", r.code, r.stdout, want, r.stderr)
	}
	r = vigil("search", "--config", conf, "nothing")
	if r.code != ExitOK || r.stdout != "No plugins match \"nothing\".\n" {
		t.Errorf("exit %d, stdout %q", r.code, r.stdout)
	}
}

func TestInstallFromRegistryJSONAndUpgradeFlag(t *testing.T) {
	srv, _, conf, _ := registryAgent(t, "0.1.0", "0.0.9")
	r := vigil("install", "--config", conf, "--format", "json", "counter", "0.1.0")
	var got struct {
		Plugins []struct {
			Name, Version, Constraints, Error string
			KeyRecorded                       bool `json:"key_recorded"`
		} `json:"plugins"`
		Diff   string `json:"diff"`
		Reload string `json:"reload"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != ExitOK {
		t.Fatalf("exit %d, decoding %q: %v (stderr %s)", r.code, r.stdout, err, r.stderr)
	}
	if len(got.Plugins) != 1 || got.Plugins[0].Version != "0.1.0" || got.Plugins[0].Constraints != "0.1.0" || !got.Plugins[0].KeyRecorded ||
		!strings.Contains(got.Diff, `+  version = "0.1.0"`) || got.Reload == "" {
		t.Errorf("JSON: %+v", got)
	}
	// --upgrade keeps to the recorded exact constraint.
	r = vigil("install", "--config", conf, "--upgrade", "counter", "--registry", srv.URL)
	if r.code != ExitOK || !strings.Contains(r.stdout, "counter 0.1.0 is already installed") {
		t.Errorf("--upgrade: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestInstallInterrupted(t *testing.T) {
	srv, dir, conf, _ := registryAgent(t, "0.1.0")
	before, _ := os.ReadFile(conf)
	stalled := srv.Stall(release.ArchiveName("counter", "0.1.0", release.Platform{OS: runtime.GOOS, Arch: runtime.GOARCH}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-stalled
		cancel()
	}()
	var stdout, stderr bytes.Buffer
	code := Main(ctx, Meta{Stdout: &stdout, Stderr: &stderr}, []string{"install", "--config", conf, "counter"})
	if code != ExitFailure || stderr.String() != "vigil install: counter: install interrupted\n" {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
	after, _ := os.ReadFile(conf)
	if d := cmp.Diff(string(before), string(after)); d != "" {
		t.Errorf("agent.hcl changed (-before +after):\n%s", d)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if d := cmp.Diff([]string{"agent.hcl", "data"}, names); d != "" {
		t.Errorf("files (-want +got):\n%s", d)
	}
	if left, _ := os.ReadDir(filepath.Join(dir, "data")); len(left) != 1 || left[0].Name() != "plugins" {
		t.Errorf("data dir holds %v, want only an empty plugins dir", left)
	}
}

// TestInstallPromiseBlocks installs install's test plugin "checks" (promise
// checks only): the new block enables the checks that run on their
// defaults, leaves the others commented out, and the summary says which
// and why, in text and JSON.
func TestInstallPromiseBlocks(t *testing.T) {
	bins := testbin.New(map[string]string{"vigil-plugin-checks": "../install/testdata/checks"})
	defer bins.Remove()
	srv, _, conf, priv := registryAgent(t)
	here := release.Platform{OS: runtime.GOOS, Arch: runtime.GOARCH}
	srv.Add(registrytest.Build(t, bins.Path(t, "vigil-plugin-checks"), "checks", "0.1.0", here, priv))
	before, _ := os.ReadFile(conf)
	r := vigil("install", "--config", conf, "checks")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	want := "Wrote " + conf + ".\n" +
		"Enabled for checks: promises checks-up, checks-quiet, checks-dup.\n" +
		"Commented out in agent.hcl until configured: promises checks-file (set path), checks-either (set a).\n" +
		"No running agent found; it will pick up the change at its next start.\n"
	if !strings.HasSuffix(r.stdout, want) {
		t.Errorf("stdout:\n%s\nwant it to end with:\n%s", r.stdout, want)
	}
	after, _ := os.ReadFile(conf)
	cfg, diags := agentconfig.Parse(after, conf)
	if diags.HasErrors() {
		t.Fatalf("agent.hcl does not decode: %s\n%s", diags.Error(), after)
	}
	if n := len(cfg.Plugins); n != 1 || len(cfg.Plugins[0].Promises) != 3 {
		t.Errorf("decoded plugins %+v", cfg.Plugins)
	}
	if !strings.HasPrefix(string(after), string(before)) || !strings.Contains(string(after), "  # promise \"checks-file\" {\n") {
		t.Errorf("agent.hcl:\n%s", after)
	}

	// The same install in JSON, into a file that already uses checks-dup.
	_, _, conf2, _ := registryAgent(t)
	src, _ := os.ReadFile(conf2)
	os.WriteFile(conf2, append(src, "\npromise \"checks-dup\" {\n  command = [\"true\"]\n}\n"...), 0o644)
	r = vigil("install", "--config", conf2, "--registry", srv.URL, "--format", "json", "checks")
	var got struct {
		Plugins []struct {
			Enabled   []string `json:"enabled_promises"`
			Commented []string `json:"commented_promises"`
		} `json:"plugins"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != ExitOK || len(got.Plugins) != 1 {
		t.Fatalf("exit %d, decoding %q: %v (stderr %s)", r.code, r.stdout, err, r.stderr)
	}
	if d := cmp.Diff([]string{"checks-up", "checks-quiet"}, got.Plugins[0].Enabled); d != "" {
		t.Errorf("enabled (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"checks-dup", "checks-file", "checks-either"}, got.Plugins[0].Commented); d != "" {
		t.Errorf("commented (-want +got):\n%s", d)
	}
}

func TestInstallWithdrawn(t *testing.T) {
	srv, dir, conf, priv := registryAgent(t)
	here := release.Platform{OS: runtime.GOOS, Arch: runtime.GOARCH}
	rel := registrytest.Build(t, counter(t), "counter", "0.1.0", here, priv)
	rel.Withdrawn = true
	srv.Add(rel)
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"exact without the flag", []string{"counter", "0.1.0"}, ExitFailure,
			"vigil install: counter: counter 0.1.0 was withdrawn from the registry; to install it anyway, ask for exactly this version with --allow-withdrawn\n"},
		{"flag without a version", []string{"counter", "--allow-withdrawn"}, ExitUsage,
			"vigil install: --allow-withdrawn needs the exact version to install, such as: vigil install <plugin> 1.2.0 --allow-withdrawn\n"},
		{"flag with a constraint", []string{"counter", "~> 0.1", "--allow-withdrawn"}, ExitUsage,
			"vigil install: --allow-withdrawn needs the exact version to install, such as 1.2.0, not \"~> 0.1\"\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := vigil(append([]string{"install", "--config", conf}, tc.args...)...)
			if r.code != tc.code || r.stderr != tc.stderr {
				t.Errorf("exit %d (want %d), stderr:\n%s\nwant:\n%s", r.code, tc.code, r.stderr, tc.stderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "vigil.lock.hcl")); err == nil {
		t.Fatal("a refused install wrote the lock file")
	}
	r := vigil("install", "--config", conf, "counter", "0.1.0", "--allow-withdrawn")
	if r.code != ExitOK || !strings.Contains(r.stdout, "Warning: counter 0.1.0 was withdrawn from the registry; it was installed because you asked for it with --allow-withdrawn.\n") {
		t.Errorf("exit %d, stdout:\n%s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
}

// SIGINT (as main delivers it on Meta.Signals) interrupts an install in
// progress: nothing is left and agent.hcl is untouched.
func TestInstallInterruptedBySignal(t *testing.T) {
	srv, dir, conf, _ := registryAgent(t, "0.1.0")
	before, _ := os.ReadFile(conf)
	stalled := srv.Stall(release.ArchiveName("counter", "0.1.0", release.Platform{OS: runtime.GOOS, Arch: runtime.GOARCH}))
	sigs := make(chan os.Signal, 1)
	go func() {
		<-stalled
		sigs <- syscall.SIGHUP // not an interrupt: ignored
		sigs <- syscall.SIGINT
	}()
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), Meta{Stdout: &stdout, Stderr: &stderr, Signals: sigs}, []string{"install", "--config", conf, "counter"})
	if code != ExitFailure || stderr.String() != "vigil install: counter: install interrupted\n" {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
	after, _ := os.ReadFile(conf)
	if d := cmp.Diff(string(before), string(after)); d != "" {
		t.Errorf("agent.hcl changed (-before +after):\n%s", d)
	}
	if left, _ := os.ReadDir(filepath.Join(dir, "data")); len(left) != 1 || left[0].Name() != "plugins" {
		t.Errorf("data dir holds %v, want only an empty plugins dir", left)
	}
}
