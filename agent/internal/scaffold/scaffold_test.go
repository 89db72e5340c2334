package scaffold

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var wantFiles = []string{
	"README.md", "doc.go", "example.hcl", "go.mod", "main.go", "manifest.go",
	"plugin_test.go", "threshold.go", "value.go",
}

func TestWrite(t *testing.T) {
	sdkDir, err := filepath.Abs("../../../sdk")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		opts   Options
		gomod  string
		readme string // a line the README must hold
	}{
		{
			name: "defaults",
			opts: Options{Name: "hello-world"},
			gomod: "module example.com/vigil-plugin-hello-world\n\ngo 1.26.0\n\n" +
				"require github.com/vigilmon/vigil/sdk v0.1.0\n",
			readme: "go mod edit -replace github.com/vigilmon/vigil/sdk=/path/to/vigil/sdk",
		},
		{
			name: "module and sdk",
			opts: Options{Name: "disk", Module: "git.example.org/ops/disk", SDKPath: "../../../sdk"},
			gomod: "module git.example.org/ops/disk\n\ngo 1.26.0\n\n" +
				"require github.com/vigilmon/vigil/sdk v0.1.0\n\n" +
				"// The SDK is used from a local checkout of the Vigil repository. Point this\n" +
				"// at your checkout, or drop it once the SDK version above is published.\n" +
				"replace github.com/vigilmon/vigil/sdk => " + filepath.ToSlash(sdkDir) + "\n",
			readme: "`" + filepath.ToSlash(sdkDir) + "`; point the `replace` line at your own checkout of the Vigil",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "plugin")
			files, err := Write(dir, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(wantFiles, files); d != "" {
				t.Errorf("files (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.gomod, read(t, filepath.Join(dir, "go.mod"))); d != "" {
				t.Errorf("go.mod (-want +got):\n%s", d)
			}
			readme := read(t, filepath.Join(dir, "README.md"))
			if !strings.Contains(readme, tc.readme) {
				t.Errorf("README.md lacks %q:\n%s", tc.readme, readme)
			}
			// The README shows example.hcl verbatim.
			if hcl := read(t, filepath.Join(dir, "example.hcl")); !strings.Contains(readme, "```hcl\n"+hcl+"```\n") {
				t.Errorf("README.md does not show example.hcl:\n%s", hcl)
			}
			measurement := strings.ReplaceAll(tc.opts.Name, "-", "_")
			if m := read(t, filepath.Join(dir, "value.go")); !strings.Contains(m, `acc.AddFields("`+measurement+`"`) {
				t.Errorf("value.go does not report measurement %s:\n%s", measurement, m)
			}
		})
	}
}

func TestWriteRefuses(t *testing.T) {
	nonEmpty := t.TempDir()
	if err := os.WriteFile(filepath.Join(nonEmpty, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		dir  string
		opts Options
		want string
	}{
		{"bad name", t.TempDir(), Options{Name: "Hello"}, `invalid plugin name "Hello"`},
		{"empty name", t.TempDir(), Options{}, `invalid plugin name ""`},
		{"bad module", t.TempDir(), Options{Name: "a", Module: "example.com/../x"}, `invalid module path "example.com/../x"`},
		{"module with a space", t.TempDir(), Options{Name: "a", Module: "example.com/a b"}, `invalid module path`},
		{"no sdk there", t.TempDir(), Options{Name: "a", SDKPath: t.TempDir()}, "holds no go.mod"},
		{"not empty", nonEmpty, Options{Name: "a"}, "directory exists and is not empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Write(tc.dir, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
			if tc.dir == nonEmpty {
				if !errors.Is(err, ErrNotEmpty) {
					t.Errorf("error %v is not ErrNotEmpty", err)
				}
				if d := cmp.Diff("x", entries(t, tc.dir)); d != "" {
					t.Errorf("directory touched (-want +got):\n%s", d)
				}
			} else if d := cmp.Diff("", entries(t, tc.dir)); d != "" {
				t.Errorf("files written (-want +got):\n%s", d)
			}
		})
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func entries(t *testing.T, dir string) string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return strings.Join(names, ",")
}
