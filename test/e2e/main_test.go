// Package e2e runs the real binaries: `vigil` and plugins built from this
// repository, talking over real go-plugin, writing to real files and a real
// InfluxDB, against real Nagios plugins.
package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilmon/vigil/test/byhand"
	"github.com/vigilmon/vigil/test/lptest"
	"github.com/vigilmon/vigil/test/testbin"
)

// bins are the binaries under test, built once before any test runs.
var bins = testbin.New(map[string]string{
	"vigil":                "../../agent/cmd/vigil",
	"vigil-registry":       "../../registry/cmd/vigil-registry",
	"vigil-plugin-system":  "../../plugins/system",
	"vigil-plugin-process": "../../plugins/process",
	"vigil-plugin-net":     "../../plugins/net",
	"vigil-plugin-panicky": "../plugins/panicky",
	"vigil-plugin-hang":    "../plugins/hang",
	"vigil-plugin-noisy":   "../plugins/noisy",
	"vigil-plugin-counter": "../plugins/counter",
})

func TestMain(m *testing.M) {
	if err := bins.Build(); err != nil {
		bins.Remove()
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	bins.Remove()
	os.Exit(code)
}

// agentDir is a fresh agent directory: agent.hcl (with data_dir "data"),
// plugins installed from the given binaries and locked.
type agentDir struct {
	t    *testing.T
	dir  string
	conf string
}

func newAgentDir(t *testing.T, config string, plugins ...string) *agentDir {
	t.Helper()
	a := &agentDir{t: t, dir: t.TempDir()}
	a.conf = filepath.Join(a.dir, "agent.hcl")
	a.writeConfig(config)
	if len(plugins) > 0 {
		args := []string{"install", "--config", a.conf}
		for _, p := range plugins {
			args = append(args, "--from-file", bins.Path(t, "vigil-plugin-"+p))
		}
		if out, err := a.vigil(args...); err != nil {
			t.Fatalf("vigil install: %v\n%s", err, out)
		}
	}
	return a
}

func (a *agentDir) writeConfig(config string) {
	a.t.Helper()
	if err := os.WriteFile(a.conf, []byte(config), 0o644); err != nil {
		a.t.Fatal(err)
	}
}

func (a *agentDir) path(rel string) string { return filepath.Join(a.dir, rel) }

// vigil runs the CLI to completion and returns stdout+stderr.
func (a *agentDir) vigil(args ...string) (string, error) {
	cmd := exec.Command(bins.Path(a.t, "vigil"), args...)
	cmd.Dir = a.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// vigilSplit runs the CLI and returns stdout and stderr apart.
func (a *agentDir) vigilSplit(args ...string) (string, string, error) {
	cmd := exec.Command(bins.Path(a.t, "vigil"), args...)
	cmd.Dir = a.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

func hasLine(out, sub string) bool { return strings.Contains(out, sub) }

// anyField reports whether some point of measurement for plugin has an
// integer field satisfying ok.
func anyField(pts []lptest.Point, measurement, plugin, field string, ok func(int64) bool) bool {
	for _, p := range lptest.Filter(pts, measurement, map[string]string{"plugin": plugin}) {
		if v, isInt := p.Fields[field].(int64); isInt && ok(v) {
			return true
		}
	}
	return false
}

// placeByHand copies a plugin binary into the plugin dir and locks its
// hash without starting it, as an operator could.
func (a *agentDir) placeByHand(name, version string) {
	a.t.Helper()
	dst := a.path(filepath.Join("data", "plugins", name, version, "vigil-plugin-"+name))
	byhand.Install(a.t, bins.Path(a.t, "vigil-plugin-"+name), dst, a.path("vigil.lock.hcl"), name, version)
}
