// Package discovery finds plugin binaries in the agent's plugin directory,
// laid out as <plugin_dir>/<name>/<version>/vigil-plugin-<name>, and checks
// them against the lock file. It never executes anything: fingerprinting a
// plugin (asking its manifest) is the supervisor's job, and only for a
// binary whose hash the lock file vouches for.
package discovery

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/vigilmon/vigil/hcl/lockfile"
)

// Platform is the lock file's key for this machine, e.g. "linux_amd64".
func Platform() string { return runtime.GOOS + "_" + runtime.GOARCH }

// BinaryName is the executable's file name for plugin name.
func BinaryName(name string) string { return "vigil-plugin-" + name }

// Path is where plugin name at version lives under pluginDir.
func Path(pluginDir, name, version string) string {
	return filepath.Join(pluginDir, name, version, BinaryName(name))
}

// Found is a plugin binary in the plugin dir.
type Found struct {
	Name    string
	Version string
	Path    string
	SHA256  string // "sha256:<hex>"
}

// Scan lists every <name>/<version>/vigil-plugin-<name> under pluginDir,
// sorted by name then version. A missing pluginDir is empty, not an error.
func Scan(pluginDir string) ([]Found, error) {
	names, err := os.ReadDir(pluginDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading plugin dir: %w", err)
	}
	var out []Found
	for _, n := range names {
		if !n.IsDir() {
			continue
		}
		versions, err := os.ReadDir(filepath.Join(pluginDir, n.Name()))
		if err != nil {
			return nil, fmt.Errorf("reading plugin dir: %w", err)
		}
		for _, v := range versions {
			p := Path(pluginDir, n.Name(), v.Name())
			fi, err := os.Lstat(p)
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
			sum, err := lockfile.HashFile(p)
			if err != nil {
				return nil, err
			}
			out = append(out, Found{Name: n.Name(), Version: v.Name(), Path: p, SHA256: sum})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Version < out[j].Version
	})
	return out, nil
}

// DecodeHash turns "sha256:<hex>" into the raw digest.
func DecodeHash(s string) ([]byte, error) {
	hexPart, ok := strings.CutPrefix(s, "sha256:")
	if !ok {
		return nil, fmt.Errorf("hash %q does not start with \"sha256:\"", s)
	}
	b, err := hex.DecodeString(hexPart)
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("hash %q is not sha256: and 64 hex digits", s)
	}
	return b, nil
}
