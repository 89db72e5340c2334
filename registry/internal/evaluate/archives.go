package evaluate

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/vigilmon/vigil/sdk/release"
)

// verifySums reads SHA256SUMS and its signature, verifies the signature
// with the publisher's key and parses the list.
func (ev *evaluation) verifySums(ctx context.Context) (release.Sums, bool) {
	var sums release.Sums
	ok := ev.step(ctx, "signature", func() (string, error) {
		raw, err := readLimited(filepath.Join(ev.in.Dir, release.SumsFile), release.MaxSumsSize)
		if err != nil {
			return "", err
		}
		sig, err := readLimited(filepath.Join(ev.in.Dir, release.SignatureFile), ed25519.SignatureSize)
		if err != nil {
			return "", err
		}
		if err := release.Verify(ev.in.PublicKey, raw, sig); err != nil {
			return "", fmt.Errorf("%w: sign the exact %s bytes with the private key of the key_id you uploaded", err, release.SumsFile)
		}
		if sums, err = release.ParseSums(raw); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s lists %d files and its signature verifies with key %s", release.SumsFile, len(sums), release.KeyID(ev.in.PublicKey)), nil
	})
	return sums, ok
}

// archives checks every archive SHA256SUMS lists and unpacks it; it
// returns the unpacked plugin binary of each platform ("os/arch").
func (ev *evaluation) archives(ctx context.Context, sums release.Sums) (map[string]string, bool) {
	dir, err := os.MkdirTemp(ev.cfg.WorkDir, "evaluate-")
	if err != nil {
		ev.log.Error("making evaluation directory", "error", err)
		ev.checks = append(ev.checks, Check{Name: "work directory", Detail: "the registry could not make its work directory; this is not a problem of the release: ask the admin to look at the registry log"})
		return nil, false
	}
	ev.work = dir
	bins := map[string]string{}
	for _, s := range sums {
		path := filepath.Join(ev.in.Dir, s.File)
		if !ev.step(ctx, "checksum "+s.File, func() (string, error) { return checksum(ctx, sums, path) }) {
			return nil, false
		}
		var plat release.Platform
		if !ev.step(ctx, "name "+s.File, func() (string, error) {
			var err error
			plat, err = ev.checkName(s.File)
			return "plugin " + ev.in.Plugin + " version " + ev.in.Version + " for " + plat.String(), err
		}) {
			return nil, false
		}
		ev.platforms = append(ev.platforms, plat.String())
		dest := filepath.Join(ev.work, plat.OS+"_"+plat.Arch)
		var files []string
		if !ev.step(ctx, "unpack "+plat.String(), func() (string, error) {
			var err error
			files, err = ev.unpack(ctx, path, dest)
			return fmt.Sprintf("%d files unpacked safely: %s", len(files), strings.Join(files, ", ")), err
		}) {
			return nil, false
		}
		if !ev.step(ctx, "contents "+plat.String(), func() (string, error) {
			if err := release.CheckContents(ev.in.Plugin, files); err != nil {
				return "", fmt.Errorf("archive %s: %w", s.File, err)
			}
			return "holds " + release.BinaryName(ev.in.Plugin), nil
		}) {
			return nil, false
		}
		bins[plat.String()] = filepath.Join(dest, release.BinaryName(ev.in.Plugin))
	}
	sort.Strings(ev.platforms)
	return bins, true
}

func checksum(ctx context.Context, sums release.Sums, path string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	err := sums.CheckFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%s is listed in %s but was not uploaded", filepath.Base(path), release.SumsFile)
	}
	if err != nil {
		return "", err
	}
	h, _ := sums.Lookup(filepath.Base(path))
	return "sha256:" + h, nil
}

// checkName parses an archive's file name and checks it belongs to this
// release.
func (ev *evaluation) checkName(file string) (release.Platform, error) {
	name, version, plat, err := release.ParseArchiveName(file)
	switch {
	case err != nil:
		return plat, err
	case name != ev.in.Plugin:
		return plat, fmt.Errorf("archive %s is for plugin %q, but this is a release of %q: want %s", file, name, ev.in.Plugin, release.ArchiveName(ev.in.Plugin, ev.in.Version, plat))
	case version != ev.in.Version:
		return plat, fmt.Errorf("archive %s is for version %s, but this is release %s: want %s", file, version, ev.in.Version, release.ArchiveName(ev.in.Plugin, ev.in.Version, plat))
	}
	return plat, nil
}

// unpack unpacks the archive at path into the new directory dest.
func (ev *evaluation) unpack(ctx context.Context, path, dest string) ([]string, error) {
	if err := os.Mkdir(dest, 0o700); err != nil {
		return nil, fmt.Errorf("making the unpack directory: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	files, err := release.Unpack(ctx, f, dest, ev.cfg.Limits)
	if err != nil {
		return nil, fmt.Errorf("archive %s: %w", filepath.Base(path), err)
	}
	return files, nil
}

// hostBinary returns the unpacked binary for the evaluator's platform,
// the one it can run.
func (ev *evaluation) hostBinary(bins map[string]string) (string, bool) {
	plat := release.Platform{OS: runtime.GOOS, Arch: runtime.GOARCH}.String()
	bin, ok := bins[plat]
	if !ok {
		ev.checks = append(ev.checks, Check{Name: "platform " + plat, Detail: fmt.Sprintf(
			"no archive for %s, the evaluator's platform: the release has %s; add a %s archive so the registry can run the plugin",
			plat, strings.Join(ev.platforms, ", "), release.ArchiveName(ev.in.Plugin, ev.in.Version, release.Platform{OS: runtime.GOOS, Arch: runtime.GOARCH}))})
	}
	return bin, ok
}

// readLimited reads the release file at path, failing when it is missing
// or larger than max.
func readLimited(path string, max int64) ([]byte, error) {
	name := filepath.Base(path)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("the release has no %s", name)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, max)
	}
	return b, nil
}
