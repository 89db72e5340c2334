// Package arch enforces the repository's conventions with code: the import
// boundaries of ARCHITECTURE.md, and that every plugin directory is
// complete and its example configuration valid.
package arch

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilmon/vigil/hcl/agentconfig"
)

const module = "github.com/vigilmon/vigil"

type pkg struct {
	ImportPath string
	Deps       []string
}

// listPackages runs `go list -deps` style queries in dir (a module root).
func listPackages(t *testing.T, dir string) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Deps", "./...")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list in %s: %v", dir, err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func ours(path string) bool { return path == module || strings.HasPrefix(path, module+"/") }

func under(path, dir string) bool {
	full := module + "/" + dir
	return path == full || strings.HasPrefix(path, full+"/")
}

// rule reports whether package p may depend (directly or not) on dep.
func allowed(p, dep string) (bool, string) {
	switch {
	case under(p, "sdk"):
		return under(dep, "sdk"), "sdk imports nothing of the repository outside sdk/"
	case under(p, "plugins"), under(p, "examples"), under(p, "test/plugins"):
		return under(dep, "sdk"), "plugins import, of this repository, only sdk"
	case under(p, "agent"):
		return !under(dep, "registry"), "agent never imports registry"
	case under(p, "registry"):
		return !under(dep, "agent"), "registry never imports agent"
	case under(p, "hcl"):
		return !under(dep, "agent") && !under(dep, "registry"), "hcl packages import neither agent nor registry"
	case under(p, "internal"):
		return !under(dep, "agent") && !under(dep, "registry"), "shared internal packages import neither agent nor registry"
	}
	return true, ""
}

func TestImportBoundaries(t *testing.T) {
	root := filepath.Join("..", "..")
	var pkgs []pkg
	pkgs = append(pkgs, listPackages(t, root)...)
	pkgs = append(pkgs, listPackages(t, filepath.Join(root, "sdk"))...)
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages; is the test run from test/arch?", len(pkgs))
	}
	checked := 0
	for _, p := range pkgs {
		for _, d := range p.Deps {
			if !ours(d) {
				continue
			}
			checked++
			if ok, why := allowed(p.ImportPath, d); !ok {
				t.Errorf("%s depends on %s: %s", p.ImportPath, d, why)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no in-repository dependency was checked")
	}
}

// The rule itself, on known cases, so a broken rule cannot pass silently.
func TestAllowedRule(t *testing.T) {
	cases := []struct {
		p, dep string
		want   bool
	}{
		{module + "/sdk/host", module + "/sdk/metric", true},
		{module + "/sdk", module + "/agent/internal/agent", false},
		{module + "/plugins/system", module + "/sdk", true},
		{module + "/plugins/system", module + "/hcl/agentconfig", false},
		{module + "/agent/internal/agent", module + "/registry/internal/store", false},
		{module + "/registry/cmd/vigil-registry", module + "/agent/internal/agent", false},
		{module + "/agent/internal/agent", module + "/hcl/agentconfig", true},
		{module + "/registry/internal/command", module + "/internal/cli", true},
		{module + "/internal/cli", module + "/agent/internal/command", false},
	}
	for _, c := range cases {
		if got, _ := allowed(c.p, c.dep); got != c.want {
			t.Errorf("allowed(%s, %s) = %v, want %v", c.p, c.dep, got, c.want)
		}
	}
}

// Every plugin directory is complete: main.go, README.md, example.hcl,
// testdata/ and tests; and its example.hcl is a valid agent configuration
// with a plugin block of that name.
func TestPluginDirectoriesAreComplete(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("..", "..", "plugins", "*"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, dir := range dirs {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue
		}
		n++
		name := filepath.Base(dir)
		for _, f := range []string{"main.go", "README.md", "example.hcl", "testdata"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("plugins/%s: missing %s", name, f)
			}
		}
		if tests, _ := filepath.Glob(filepath.Join(dir, "*_test.go")); len(tests) == 0 {
			t.Errorf("plugins/%s: no tests", name)
		}
		cfg, diags := agentconfig.Load(filepath.Join(dir, "example.hcl"))
		if diags.HasErrors() {
			t.Errorf("plugins/%s/example.hcl: %s", name, diags.Error())
			continue
		}
		found := false
		for _, p := range cfg.Plugins {
			found = found || p.Name == name
		}
		if !found {
			t.Errorf("plugins/%s/example.hcl has no plugin %q block", name, name)
		}
	}
	if n < 3 {
		t.Errorf("found %d plugin directories, want at least system, process and net", n)
	}
}
