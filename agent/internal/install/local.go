// Package install places plugins in the agent's plugin directory and
// records them in the lock file. This first piece installs a plugin binary
// from a local file (a plugin under development, or `make run`'s freshly
// built first-party plugins); installing from the registry builds on it.
package install

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

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
}

// LocalFiles installs each plugin binary in files into pluginDir and
// records it in the lock file at lockPath with source "local". Each binary
// is launched once (with its hash pinned) to learn its name and version.
// Nothing is recorded for a file that fails.
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
		in, err := localFile(ctx, pluginDir, sockets, f, log)
		if err != nil {
			errs = append(errs, fmt.Errorf("installing %s: %w", f, err))
			continue
		}
		lock.Set(lockfile.Entry{
			Name: in.Name, Version: in.Version, Source: lockfile.SourceLocal,
			Platforms: map[string]lockfile.PlatformHashes{discovery.Platform(): {Binary: in.SHA256}},
		})
		out = append(out, in)
	}
	if len(out) > 0 {
		if err := lock.Save(lockPath); err != nil {
			errs = append(errs, fmt.Errorf("writing lock file: %w", err))
		}
	}
	return out, errors.Join(errs...)
}

func localFile(ctx context.Context, pluginDir, sockets, file string, log hclog.Logger) (Installed, error) {
	sum, err := lockfile.HashFile(file)
	if err != nil {
		return Installed{}, err
	}
	raw, err := discovery.DecodeHash(sum)
	if err != nil {
		return Installed{}, err
	}
	p, err := host.Launch(ctx, host.Config{Path: file, SHA256: raw, SocketDir: sockets, Logger: log})
	if err != nil {
		return Installed{}, err
	}
	info := p.Info()
	p.Close()
	dest := discovery.Path(pluginDir, info.Name, info.Version)
	if err := copyFile(file, dest); err != nil {
		return Installed{}, err
	}
	return Installed{Name: info.Name, Version: info.Version, Path: dest, SHA256: sum}, nil
}

// copyFile writes src to dst atomically: a temp file in dst's directory,
// synced, then renamed over dst.
func copyFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".install-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}
