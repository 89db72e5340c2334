package scaffold

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/vigilmon/vigil/sdk"
	"github.com/vigilmon/vigil/sdk/release"
)

// SDKModule is the module path of the Vigil SDK, the only module a
// scaffolded plugin requires.
const SDKModule = "github.com/vigilmon/vigil/sdk"

//go:embed templates
var templates embed.FS

// ErrNotEmpty is returned by Write when the target directory exists and
// holds files: a scaffold never mixes with or replaces existing work.
var ErrNotEmpty = errors.New("directory exists and is not empty")

// Options say what to scaffold.
type Options struct {
	// Name is the plugin name (see release.ValidName).
	Name string
	// Module is the Go module path; "" means example.com/vigil-plugin-<name>.
	Module string
	// SDKPath, when set, is a local directory holding the SDK module,
	// written as a replace directive (made absolute when relative, since
	// go.mod resolves replacements against its own directory).
	SDKPath string
}

// data is what the templates see.
type data struct {
	Name        string // plugin name, "hello-world"
	Module      string
	Measurement string // name with '-' replaced by '_', "hello_world"
	SDKModule   string
	SDKVersion  string // "v0.1.0"
	SDKPath     string // "" for no replace directive
}

// DefaultModule is the module path used when Options.Module is empty.
func DefaultModule(name string) string { return "example.com/" + release.BinaryName(name) }

// Write renders the plugin module into dir, creating it, and returns the
// paths of the files it wrote, relative to dir and sorted. It refuses an
// invalid name and a dir that exists and is not empty.
func Write(dir string, o Options) ([]string, error) {
	d, err := o.data()
	if err != nil {
		return nil, err
	}
	files, err := render(d)
	if err != nil {
		return nil, err
	}
	if err := ensureEmptyDir(dir); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, fmt.Errorf("making %s: %w", filepath.Dir(p), err)
		}
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return nil, fmt.Errorf("writing %s: %w", p, err)
		}
	}
	return names, nil
}

// data checks o and fills in its defaults.
func (o Options) data() (data, error) {
	if err := release.ValidName(o.Name); err != nil {
		return data{}, err
	}
	d := data{
		Name:        o.Name,
		Module:      o.Module,
		Measurement: strings.ReplaceAll(o.Name, "-", "_"),
		SDKModule:   SDKModule,
		SDKVersion:  "v" + sdk.Version,
	}
	if d.Module == "" {
		d.Module = DefaultModule(o.Name)
	}
	if err := validModule(d.Module); err != nil {
		return data{}, err
	}
	if o.SDKPath != "" {
		abs, err := filepath.Abs(o.SDKPath)
		if err != nil {
			return data{}, fmt.Errorf("resolving the SDK path: %w", err)
		}
		if _, err := os.Stat(filepath.Join(abs, "go.mod")); err != nil {
			return data{}, fmt.Errorf("the SDK path %s holds no go.mod: %w", abs, err)
		}
		d.SDKPath = filepath.ToSlash(abs)
	}
	return d, nil
}

// validModule accepts module paths made of the characters Go allows,
// with no empty, "." or ".." element and nothing that would break go.mod.
func validModule(m string) error {
	bad := m == "" || strings.HasPrefix(m, "/") || strings.HasSuffix(m, "/")
	for _, el := range strings.Split(m, "/") {
		if el == "" || el == "." || el == ".." {
			bad = true
		}
	}
	for _, r := range m {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~/", r)) {
			bad = true
		}
	}
	if bad {
		return fmt.Errorf("invalid module path %q: want a path such as example.com/vigil-plugin-hello", m)
	}
	return nil
}

// render executes every template (delimited by "[[" and "]]", since Go
// code is full of "{{") with d and returns the files by their
// slash-separated path in the module.
func render(d data) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := fs.WalkDir(templates, "templates", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		src, err := templates.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimSuffix(strings.TrimPrefix(p, "templates/"), ".tmpl")
		tmpl, err := template.New(path.Base(p)).Delims("[[", "]]").Option("missingkey=error").Parse(string(src))
		if err != nil {
			return fmt.Errorf("parsing template %s: %w", p, err)
		}
		var b bytes.Buffer
		if err := tmpl.Execute(&b, d); err != nil {
			return fmt.Errorf("rendering %s: %w", name, err)
		}
		out[name] = b.Bytes()
		return nil
	})
	return out, err
}

// ensureEmptyDir creates dir, or accepts it when it exists and is empty.
func ensureEmptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("making %s: %w", dir, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("reading %s: %w", dir, err)
	case len(entries) > 0:
		return fmt.Errorf("%s: %w", dir, ErrNotEmpty)
	}
	return nil
}
