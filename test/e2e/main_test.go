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
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"

	"github.com/vigilmon/vigil/hcl/lockfile"
)

// bins maps a binary name to its built path.
var bins = map[string]string{}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vigil-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	targets := map[string]string{
		"vigil":                "../../agent/cmd/vigil",
		"vigil-plugin-system":  "../../plugins/system",
		"vigil-plugin-process": "../../plugins/process",
		"vigil-plugin-net":     "../../plugins/net",
		"vigil-plugin-panicky": "../plugins/panicky",
		"vigil-plugin-hang":    "../plugins/hang",
		"vigil-plugin-noisy":   "../plugins/noisy",
		"vigil-plugin-counter": "../plugins/counter",
	}
	args := []string{"build", "-o", dir + "/"}
	for _, pkg := range targets {
		args = append(args, pkg)
	}
	// One `go build` for all of them shares the compilation work. Package
	// main binaries are named after their directory, so rename after.
	cmd := exec.Command("go", args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building binaries:", err)
		os.Exit(1)
	}
	for name, pkg := range targets {
		built := filepath.Join(dir, filepath.Base(pkg))
		dst := filepath.Join(dir, name)
		if built != dst {
			if err := os.Rename(built, dst); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
		bins[name] = dst
	}
	code := m.Run()
	os.RemoveAll(dir)
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
			args = append(args, "--from-file", bins["vigil-plugin-"+p])
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
	cmd := exec.Command(bins["vigil"], args...)
	cmd.Dir = a.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// vigilSplit runs the CLI and returns stdout and stderr apart.
func (a *agentDir) vigilSplit(args ...string) (string, string, error) {
	cmd := exec.Command(bins["vigil"], args...)
	cmd.Dir = a.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// point is a decoded line-protocol point.
type point struct {
	measurement string
	tags        map[string]string
	fields      map[string]any
	time        time.Time
}

func parseLP(t *testing.T, data []byte) []point {
	t.Helper()
	dec := lineprotocol.NewDecoderWithBytes(data)
	var pts []point
	for dec.Next() {
		m, err := dec.Measurement()
		if err != nil {
			t.Fatalf("decoding line protocol: %v", err)
		}
		p := point{measurement: string(m), tags: map[string]string{}, fields: map[string]any{}}
		for {
			k, v, err := dec.NextTag()
			if err != nil {
				t.Fatal(err)
			}
			if k == nil {
				break
			}
			p.tags[string(k)] = string(v)
		}
		for {
			k, v, err := dec.NextField()
			if err != nil {
				t.Fatal(err)
			}
			if k == nil {
				break
			}
			p.fields[string(k)] = v.Interface()
		}
		ts, err := dec.Time(lineprotocol.Nanosecond, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		p.time = ts
		pts = append(pts, p)
	}
	return pts
}

func filter(pts []point, measurement string, tags map[string]string) []point {
	var out []point
next:
	for _, p := range pts {
		if p.measurement != measurement {
			continue
		}
		for k, v := range tags {
			if p.tags[k] != v {
				continue next
			}
		}
		out = append(out, p)
	}
	return out
}

func hasLine(out, sub string) bool { return strings.Contains(out, sub) }

// parseLPLoose decodes what it can of a file that may be mid-write: the
// last, incomplete line is ignored.
func parseLPLoose(data []byte) []point {
	if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
		data = data[:i+1]
	} else {
		return nil
	}
	dec := lineprotocol.NewDecoderWithBytes(data)
	var pts []point
	for dec.Next() {
		m, err := dec.Measurement()
		if err != nil {
			continue
		}
		p := point{measurement: string(m), tags: map[string]string{}, fields: map[string]any{}}
		for {
			k, v, err := dec.NextTag()
			if err != nil || k == nil {
				break
			}
			p.tags[string(k)] = string(v)
		}
		for {
			k, v, err := dec.NextField()
			if err != nil || k == nil {
				break
			}
			p.fields[string(k)] = v.Interface()
		}
		pts = append(pts, p)
	}
	return pts
}

func filterLoose(pts []point, measurement string) []point { return filter(pts, measurement, nil) }

// anyField reports whether some point of measurement for plugin has an
// integer field satisfying ok.
func anyField(pts []point, measurement, plugin, field string, ok func(int64) bool) bool {
	for _, p := range filter(pts, measurement, map[string]string{"plugin": plugin}) {
		if v, isInt := p.fields[field].(int64); isInt && ok(v) {
			return true
		}
	}
	return false
}

// placeByHand copies a plugin binary into the plugin dir and locks its
// hash without starting it, as an operator could.
func (a *agentDir) placeByHand(name, version string) {
	a.t.Helper()
	src := bins["vigil-plugin-"+name]
	dst := a.path(filepath.Join("data", "plugins", name, version, "vigil-plugin-"+name))
	b, err := os.ReadFile(src)
	if err != nil {
		a.t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		a.t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		a.t.Fatal(err)
	}
	sum, err := lockfile.HashFile(dst)
	if err != nil {
		a.t.Fatal(err)
	}
	lockPath := a.path("vigil.lock.hcl")
	lock, diags := lockfile.Load(lockPath)
	if diags.HasErrors() {
		a.t.Fatal(diags.Error())
	}
	lock.Set(lockfile.Entry{Name: name, Version: version, Source: "local",
		Platforms: map[string]lockfile.PlatformHashes{runtime.GOOS + "_" + runtime.GOARCH: {Binary: sum}}})
	if err := lock.Save(lockPath); err != nil {
		a.t.Fatal(err)
	}
}
