package command

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPluginNewBuilds scaffolds a plugin against this repository's SDK and
// runs its own vet and tests, as its author would right away.
func TestPluginNewBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles and tests a new module")
	}
	sdkDir, err := filepath.Abs("../../../sdk")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "greeter")
	r := vigil("plugin", "new", "greeter", "--dir", dir, "--sdk", sdkDir, "--format", "json")
	if r.code != ExitOK {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	var res newResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("%v:\n%s", err, r.stdout)
	}
	if d := cmp.Diff(newResult{Name: "greeter", Module: "example.com/vigil-plugin-greeter", Dir: dir, SDK: sdkDir,
		Files: []string{"README.md", "doc.go", "example.hcl", "go.mod", "main.go", "manifest.go",
			"plugin_test.go", "threshold.go", "value.go"}}, res); d != "" {
		t.Errorf("report (-want +got):\n%s", d)
	}
	for _, args := range [][]string{{"vet", "./..."}, {"test", "-count=1", "./..."}} {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		// -mod=mod: the module has no go.sum yet (its author runs go mod
		// tidy); GOWORK=off: it is not part of this repository's workspace.
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("go %s in the new plugin: %v\n%s", strings.Join(args, " "), err, out.String())
		}
	}
}

func TestPluginNew(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "p")
	r := vigil("plugin", "new", "hello-world", "--dir", dir, "--module", "git.example.org/ops/hello")
	if r.code != ExitOK {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	want := "Wrote plugin hello-world (module git.example.org/ops/hello) into " + dir + ":\n" +
		"  README.md\n  doc.go\n  example.hcl\n  go.mod\n  main.go\n  manifest.go\n  plugin_test.go\n  threshold.go\n  value.go\n\n" +
		"Next:\n  The SDK is not published yet: in " + dir + ", run\n" +
		"    go mod edit -replace github.com/vigilmon/vigil/sdk=/path/to/vigil/sdk\n" +
		"  cd " + dir + " && go mod tidy && go test ./...\n" +
		"  README.md walks through packaging, registering and publishing it.\n"
	if d := cmp.Diff(want, r.stdout); d != "" {
		t.Errorf("stdout (-want +got):\n%s", d)
	}
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil || !strings.HasPrefix(string(b), "module git.example.org/ops/hello\n") {
		t.Errorf("go.mod: %v\n%s", err, b)
	}
}

func TestPluginNewRefuses(t *testing.T) {
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "main.go"), []byte("package main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no name", []string{}, ExitUsage, "vigil plugin new: give exactly one plugin name\n"},
		{"two names", []string{"a", "b"}, ExitUsage, "vigil plugin new: give exactly one plugin name\n"},
		{"bad name", []string{"Bad.Name"}, ExitUsage,
			"vigil plugin new: invalid plugin name \"Bad.Name\": want a lowercase letter followed by lowercase letters, digits, '_' or '-'\n"},
		{"bad format", []string{"a", "--format", "xml"}, ExitUsage, "vigil plugin new: --format must be human or json, not \"xml\"\n"},
		{"not empty", []string{"a", "--dir", full}, ExitUsage, "vigil plugin new: " + full + ": directory exists and is not empty\n"},
		{"bad module", []string{"a", "--dir", filepath.Join(t.TempDir(), "x"), "--module", "a b"}, ExitFailure,
			"vigil plugin new: invalid module path \"a b\": want a path such as example.com/vigil-plugin-hello\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := vigil(append([]string{"plugin", "new"}, tc.args...)...)
			if d := cmp.Diff(result{code: tc.code, stderr: tc.stderr}, r, cmp.AllowUnexported(result{})); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
	if b, err := os.ReadFile(filepath.Join(full, "main.go")); err != nil || string(b) != "package main\n" {
		t.Errorf("existing file changed: %v %q", err, b)
	}
}
