package install

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/hashicorp/go-hclog"

	"github.com/vigilmon/vigil/agent/internal/discovery"
	"github.com/vigilmon/vigil/hcl/lockfile"
	"github.com/vigilmon/vigil/sdk/host"
)

// Installed describes one installed plugin.
type Installed struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Path    string `json:"path"`
	SHA256  string `json:"sha256"`
	// Collectors and Defaults are what the plugin declared: its collectors
	// and the default of every collector attribute that has one, for the
	// plugin block that install writes into agent.hcl.
	Collectors []string       `json:"collectors,omitempty"`
	Defaults   map[string]any `json:"defaults,omitempty"`
	// Needs are the config keys its collectors require, which have no
	// default: the agent runs the plugin only once they are set.
	Needs []Need `json:"needs,omitempty"`
	// Promises are the plugin's promise checks, each with its defaults
	// and what must be set before it can run (see Block).
	Promises []Promise `json:"promises,omitempty"`
}

// LocalFiles installs each plugin binary in files into pluginDir and
// records it in the lock file at lockPath with source "local". Each binary
// is copied first, and the copy is hashed, launched once (with that hash
// pinned) to learn its name and version, and moved into place: what is
// recorded is exactly what was run and installed, even if the source file
// changes meanwhile. Nothing is recorded for a file that fails.
func LocalFiles(ctx context.Context, pluginDir, lockPath string, files []string, log hclog.Logger) ([]Installed, error) {
	lock, diags := lockfile.Load(lockPath)
	if diags.HasErrors() {
		return nil, fmt.Errorf("reading lock file: %s", diags.Error())
	}
	sockets, err := os.MkdirTemp("", "vigil-install")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(sockets)
	var out []Installed
	var errs []error
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("install interrupted before %s", f))
			break
		}
		in, entry, err := localFile(ctx, pluginDir, sockets, f, log)
		if err != nil {
			errs = append(errs, fmt.Errorf("installing %s: %w", f, err))
			continue
		}
		lock.Set(entry)
		out = append(out, in)
	}
	if len(out) > 0 {
		if err := lock.Save(lockPath); err != nil {
			errs = append(errs, fmt.Errorf("writing lock file: %w", err))
		}
	}
	return out, errors.Join(errs...)
}

func localFile(ctx context.Context, pluginDir, sockets, file string, log hclog.Logger) (Installed, lockfile.Entry, error) {
	if err := os.MkdirAll(pluginDir, 0o755); err != nil {
		return Installed{}, lockfile.Entry{}, err
	}
	staged, err := stage(file, pluginDir)
	if err != nil {
		return Installed{}, lockfile.Entry{}, err
	}
	defer os.Remove(staged) // a no-op once it is moved into place
	in, err := place(ctx, pluginDir, sockets, staged, filepath.Base(file), nil, log)
	if err != nil {
		return Installed{}, lockfile.Entry{}, err
	}
	entry := lockfile.Entry{
		Name: in.Name, Version: in.Version, Source: lockfile.SourceLocal,
		Platforms: map[string]lockfile.PlatformHashes{discovery.Platform(): {Binary: in.SHA256}},
	}
	return in, entry, nil
}

// place hashes the executable staged (on the plugin dir's file system),
// launches it once with that hash pinned to read its name and version and
// to try its promise checks on their defaults (promiseOffers), checks the
// name and version with expect (when not nil) and as directory names, and
// moves it to <pluginDir>/<name>/<version>/. label names the plugin in
// logs until its name is known.
func place(ctx context.Context, pluginDir, sockets, staged, label string, expect func(name, version string) error, log hclog.Logger) (Installed, error) {
	sum, err := lockfile.HashFile(staged)
	if err != nil {
		return Installed{}, err
	}
	raw, err := discovery.DecodeHash(sum)
	if err != nil {
		return Installed{}, err
	}
	p, err := host.Launch(ctx, host.Config{Name: label, Path: staged, SHA256: raw, SocketDir: sockets, Logger: log})
	if err != nil {
		return Installed{}, err
	}
	info := p.Info()
	var offers []Promise
	if expect == nil || expect(info.Name, info.Version) == nil {
		offers = promiseOffers(ctx, p, info.Promises)
	}
	p.Close()
	if expect != nil {
		if err := expect(info.Name, info.Version); err != nil {
			return Installed{}, err
		}
	}
	// The name and version come from the plugin and become directory
	// names: check them before they touch the file system.
	probe := lockfile.Entry{Name: info.Name, Version: info.Version, Source: lockfile.SourceLocal,
		Platforms: map[string]lockfile.PlatformHashes{discovery.Platform(): {Binary: sum}}}
	if err := probe.Validate(); err != nil {
		return Installed{}, fmt.Errorf("the plugin's manifest: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return Installed{}, err
	}
	dest := discovery.Path(pluginDir, info.Name, info.Version)
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return Installed{}, err
	}
	if err := os.Rename(staged, dest); err != nil {
		return Installed{}, err
	}
	in := Installed{Name: info.Name, Version: info.Version, Path: dest, SHA256: sum, Promises: offers}
	for _, c := range info.Collectors {
		in.Collectors = append(in.Collectors, c.Name)
		for _, a := range c.Schema {
			if a.Required && !slices.ContainsFunc(in.Needs, func(n Need) bool { return n.Key == a.Name }) {
				in.Needs = append(in.Needs, Need{Key: a.Name, Detail: describeAttr(a), Required: true})
			}
			if a.Default == nil {
				continue
			}
			if in.Defaults == nil {
				in.Defaults = map[string]any{}
			}
			in.Defaults[a.Name] = a.Default
		}
	}
	return in, nil
}

// stage copies src to an executable temporary file in dir (the plugin dir,
// so the final rename stays on one file system), synced to disk.
func stage(src, dir string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(dir, ".install-*")
	if err != nil {
		return "", err
	}
	err = func() error {
		if _, err := io.Copy(tmp, in); err != nil {
			return err
		}
		if err := tmp.Chmod(0o755); err != nil {
			return err
		}
		return tmp.Sync()
	}()
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("copying %s: %w", src, err)
	}
	return tmp.Name(), nil
}
