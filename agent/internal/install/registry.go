package install

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"

	"github.com/hashicorp/go-hclog"

	"github.com/vigilmon/vigil/agent/internal/discovery"
	"github.com/vigilmon/vigil/agent/internal/registryclient"
	"github.com/vigilmon/vigil/hcl/lockfile"
	"github.com/vigilmon/vigil/sdk/release"
)

// Errors FromRegistry returns (wrapped) for callers that branch on them.
var (
	// ErrInterrupted: ctx was cancelled (SIGINT); nothing was installed
	// and the lock file is untouched.
	ErrInterrupted = errors.New("install interrupted")
	// ErrUntrustedKey: the release is signed with a key that is not among
	// the registry block's signing_keys.
	ErrUntrustedKey = errors.New("signing key is not trusted")
	// ErrKeyChanged: no signing_keys are configured and the release is
	// signed with another key than the one the lock file recorded on
	// first use.
	ErrKeyChanged = errors.New("signing key differs from the one recorded in the lock file")
	// ErrChecksum: the archive's sha256 differs from SHA256SUMS or the
	// download descriptor.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrWithdrawn: the exact version asked for was withdrawn, and the
	// request does not allow withdrawn versions.
	ErrWithdrawn = errors.New("withdrawn from the registry")
)

// Registry is what installing needs of a registry; *registryclient.Client
// implements it.
type Registry interface {
	Versions(ctx context.Context, name string, includeWithdrawn bool) ([]registryclient.Version, error)
	Download(ctx context.Context, name, version, goos, goarch string, allowWithdrawn bool) (registryclient.Download, error)
	Fetch(ctx context.Context, path string, w io.Writer, max int64, progress func(done, total int64)) (int64, error)
}

var _ Registry = (*registryclient.Client)(nil)

// Request is one plugin to install from a registry.
type Request struct {
	Name string
	// Constraints choose the version (see Constraints); "" means the
	// newest release, or with Upgrade the constraints the lock recorded.
	Constraints string
	Upgrade     bool
	// AllowWithdrawn installs a withdrawn release; only for an exact
	// version (Constraints such as "1.2.3").
	AllowWithdrawn bool
	Source         string   // the registry's URL, recorded in the lock
	TrustedKeys    []string // the registry block's signing_keys; none: trust on first use
	PluginDir      string
	LockPath       string
	// Progress, when not nil, is told how a download advances.
	Progress func(file string, done, total int64)
	Log      hclog.Logger
}

// Result is what FromRegistry did.
type Result struct {
	Installed
	Previous    string `json:"previous,omitempty"` // the version installed before, if any
	Constraints string `json:"constraints,omitempty"`
	SigningKey  string `json:"signing_key"`
	KeyRecorded bool   `json:"key_recorded,omitempty"` // trusted on first use now
	Unchanged   bool   `json:"unchanged,omitempty"`    // that exact version was installed already
	Withdrawn   bool   `json:"withdrawn,omitempty"`    // installed although withdrawn (AllowWithdrawn)
}

// FromRegistry resolves req's constraints against the registry, downloads
// the archive for this platform with SHA256SUMS and its signature into a
// temporary directory beside the plugin dir (first removing those that
// installs killed midway left behind), verifies the signature with a
// trusted key, the archive's sha256, unpacks it safely, runs the binary
// once pinned to its hash to check its name and version, moves it into
// <plugin_dir>/<name>/<version>/ and records it in the lock file. Any
// failure, or ctx being cancelled (ErrInterrupted), leaves no files behind
// and the lock file as it was.
func FromRegistry(ctx context.Context, reg Registry, req Request) (Result, error) {
	res, err := fromRegistry(ctx, reg, req)
	if err != nil && ctx.Err() != nil {
		return Result{}, ErrInterrupted
	}
	return res, err
}

func fromRegistry(ctx context.Context, reg Registry, req Request) (Result, error) {
	if req.Log == nil {
		req.Log = hclog.NewNullLogger()
	}
	lock, diags := lockfile.Load(req.LockPath)
	if diags.HasErrors() {
		return Result{}, fmt.Errorf("reading lock file: %s", diags.Error())
	}
	var prev *lockfile.Entry
	if e, ok := lock.Plugin(req.Name); ok {
		prev = e
	}
	res := Result{Constraints: req.Constraints}
	if prev != nil {
		res.Previous = prev.Version
		if req.Upgrade && req.Constraints == "" {
			res.Constraints = prev.Constraints
		}
	}
	cons, err := ParseConstraints(res.Constraints)
	if err != nil {
		return Result{}, err
	}
	if _, exact := cons.Exact(); req.AllowWithdrawn && !exact {
		return Result{}, fmt.Errorf("a withdrawn release is installed only when asked for by its exact version, not %q", cons.String())
	}
	version, withdrawn, err := resolve(ctx, reg, req.Name, cons, req.AllowWithdrawn)
	if err != nil {
		return Result{}, err
	}
	res.Withdrawn = withdrawn
	platform := release.Platform{OS: runtime.GOOS, Arch: runtime.GOARCH}
	if prev != nil && prev.Version == version && prev.Source == req.Source {
		if in, ok := intact(req.PluginDir, *prev); ok {
			res.Installed, res.SigningKey, res.Unchanged = in, prev.SigningKey, true
			return res, nil
		}
	}
	desc, err := reg.Download(ctx, req.Name, version, platform.OS, platform.Arch, withdrawn)
	if err != nil {
		return Result{}, err
	}
	if want := release.ArchiveName(req.Name, version, platform); desc.Plugin != req.Name || desc.Version != version || desc.Filename != want {
		return Result{}, fmt.Errorf("the registry describes %s %s (%s), not %s %s (%s)", desc.Plugin, desc.Version, desc.Filename, req.Name, version, want)
	}
	pub, recorded, err := trust(req, prev, desc)
	if err != nil {
		return Result{}, err
	}
	res.SigningKey, res.KeyRecorded = pub.String(), recorded

	if err := os.MkdirAll(req.PluginDir, 0o755); err != nil {
		return Result{}, fmt.Errorf("making the plugin directory: %w", err)
	}
	tmp, done, err := workDir(filepath.Dir(filepath.Clean(req.PluginDir)), req.Log)
	if err != nil {
		return Result{}, err
	}
	defer done()
	archive, archiveSum, err := download(ctx, reg, req, desc, pub, tmp)
	if err != nil {
		return Result{}, err
	}
	binary, err := unpack(ctx, req.Name, archive, filepath.Join(tmp, "unpacked"))
	if err != nil {
		return Result{}, err
	}
	expect := func(name, v string) error {
		if name != req.Name || v != version {
			return fmt.Errorf("the archive of %s %s holds plugin %s %s", req.Name, version, name, v)
		}
		return nil
	}
	// Sockets need a short path (Unix limits them to ~100 bytes); the
	// install dir beside the plugin dir can be long.
	sockets, err := os.MkdirTemp("", "vigil-install")
	if err != nil {
		return Result{}, fmt.Errorf("making a socket directory: %w", err)
	}
	defer os.RemoveAll(sockets)
	in, err := place(ctx, req.PluginDir, sockets, binary, req.Name, expect, req.Log)
	if err != nil {
		return Result{}, fmt.Errorf("installing %s %s: %w", req.Name, version, err)
	}
	res.Installed = in
	entry := lockfile.Entry{
		Name: req.Name, Version: version, Constraints: cons.String(), Source: req.Source, SigningKey: res.SigningKey,
		Platforms: map[string]lockfile.PlatformHashes{discovery.Platform(): {Binary: in.SHA256, Archive: archiveSum}},
	}
	if prev != nil && prev.Version == version {
		for p, h := range prev.Platforms {
			if _, ok := entry.Platforms[p]; !ok {
				entry.Platforms[p] = h
			}
		}
	}
	lock.Set(entry)
	if err := lock.Save(req.LockPath); err != nil {
		removeVersion(req.PluginDir, req.Name, version, prev)
		return Result{}, fmt.Errorf("writing lock file: %w", err)
	}
	if prev != nil && prev.Version != version {
		// The old version is no longer recorded, so the agent will not
		// run it; a running agent keeps its open binary until reloaded.
		if err := os.RemoveAll(filepath.Dir(discovery.Path(req.PluginDir, req.Name, prev.Version))); err != nil {
			req.Log.Warn("removing the previous version", "path", filepath.Dir(discovery.Path(req.PluginDir, req.Name, prev.Version)), "error", err)
		}
	}
	return res, nil
}

// removeVersion undoes placing name at version, unless the lock recorded
// that same version before (then the file was a reinstall over it).
func removeVersion(pluginDir, name, version string, prev *lockfile.Entry) {
	if prev != nil && prev.Version == version {
		return
	}
	dir := filepath.Dir(discovery.Path(pluginDir, name, version))
	os.RemoveAll(dir)
	os.Remove(filepath.Dir(dir)) // the plugin's directory, when now empty
}

// resolve picks the newest version cons allows that has a build for this
// platform, among the approved versions and, with allowWithdrawn, the
// withdrawn ones; it says whether the version picked was withdrawn.
func resolve(ctx context.Context, reg Registry, name string, cons Constraints, allowWithdrawn bool) (string, bool, error) {
	versions, err := reg.Versions(ctx, name, allowWithdrawn)
	if registryclient.IsNotFound(err) {
		return "", false, fmt.Errorf("the registry has no plugin %q: %w", name, err)
	}
	if err != nil {
		return "", false, err
	}
	platform := runtime.GOOS + "/" + runtime.GOARCH
	var all, here []string
	withdrawn := map[string]bool{}
	for _, v := range versions {
		all = append(all, v.Version)
		if slices.Contains(v.Platforms, platform) {
			here = append(here, v.Version)
		}
		withdrawn[v.Version] = v.Withdrawn
	}
	if v, err := Newest(name, cons, here); err == nil {
		return v, withdrawn[v], nil
	}
	v, err := Newest(name, cons, all)
	if err != nil {
		if exact, ok := cons.Exact(); ok && !allowWithdrawn && isWithdrawn(ctx, reg, name, exact) {
			return "", false, fmt.Errorf("%s %s was %w; to install it anyway, ask for exactly this version with --allow-withdrawn", name, exact, ErrWithdrawn)
		}
		return "", false, err
	}
	return "", false, fmt.Errorf("%s %s has no build for %s", name, v, platform)
}

// isWithdrawn reports whether the registry lists version of name as
// withdrawn.
func isWithdrawn(ctx context.Context, reg Registry, name, version string) bool {
	versions, err := reg.Versions(ctx, name, true)
	if err != nil {
		return false
	}
	for _, v := range versions {
		if v.Version == version {
			return v.Withdrawn
		}
	}
	return false
}

// trust returns the key the release must be signed with, and whether it is
// being trusted on first use now.
func trust(req Request, prev *lockfile.Entry, desc registryclient.Download) (release.PublicKey, bool, error) {
	pub, err := release.ParsePublicKey(desc.PublicKey)
	if err != nil {
		return nil, false, fmt.Errorf("the registry's key for %s %s: %w", req.Name, desc.Version, err)
	}
	if desc.KeyID != "" && desc.KeyID != release.KeyID(pub) {
		return nil, false, fmt.Errorf("the registry's key id %s does not match its key %s", desc.KeyID, desc.PublicKey)
	}
	if len(req.TrustedKeys) > 0 {
		for _, k := range req.TrustedKeys {
			if t, err := release.ParsePublicKey(k); err == nil && bytes.Equal(t, pub) {
				return pub, false, nil
			}
		}
		return nil, false, fmt.Errorf("%s %s is signed with %s (%s): %w; add it to signing_keys in the registry block if you trust its publisher",
			req.Name, desc.Version, desc.PublicKey, release.KeyID(pub), ErrUntrustedKey)
	}
	if prev != nil && prev.SigningKey != "" {
		rec, err := release.ParsePublicKey(prev.SigningKey)
		if err != nil {
			return nil, false, fmt.Errorf("the lock file's signing key for %s: %w", req.Name, err)
		}
		if !bytes.Equal(rec, pub) {
			return nil, false, fmt.Errorf("%s %s is signed with %s, the lock file trusts %s: %w; if the publisher changed keys, uninstall the plugin and install it again",
				req.Name, desc.Version, release.KeyID(pub), release.KeyID(rec), ErrKeyChanged)
		}
		return pub, false, nil
	}
	return pub, true, nil
}

// download fetches SHA256SUMS, its signature and the archive into dir and
// verifies them; it returns the archive's path and "sha256:" hash.
func download(ctx context.Context, reg Registry, req Request, desc registryclient.Download, pub release.PublicKey, dir string) (string, string, error) {
	sums, err := fetchBytes(ctx, reg, desc.ShasumsURL, release.MaxSumsSize)
	if err != nil {
		return "", "", err
	}
	sig, err := fetchBytes(ctx, reg, desc.ShasumsSignatureURL, 64)
	if err != nil {
		return "", "", err
	}
	if err := release.Verify(pub, sums, sig); err != nil {
		return "", "", fmt.Errorf("%s %s: %w", req.Name, desc.Version, err)
	}
	parsed, err := release.ParseSums(sums)
	if err != nil {
		return "", "", fmt.Errorf("%s %s: %w", req.Name, desc.Version, err)
	}
	listed, ok := parsed.Lookup(desc.Filename)
	if !ok {
		return "", "", fmt.Errorf("%s %s: %s does not list %s: %w", req.Name, desc.Version, release.SumsFile, desc.Filename, ErrChecksum)
	}
	if listed != desc.SHA256 {
		return "", "", fmt.Errorf("%s %s: the registry says %s has sha256 %s, the signed %s says %s: %w",
			req.Name, desc.Version, desc.Filename, desc.SHA256, release.SumsFile, listed, ErrChecksum)
	}
	path := filepath.Join(dir, desc.Filename)
	f, err := os.Create(path)
	if err != nil {
		return "", "", err
	}
	h := sha256.New()
	var progress func(done, total int64)
	if req.Progress != nil {
		progress = func(done, total int64) { req.Progress(desc.Filename, done, total) }
	}
	max := int64(release.DefaultMaxBytes)
	if desc.Size > 0 {
		max = desc.Size
	}
	_, err = reg.Fetch(ctx, desc.URL, io.MultiWriter(f, h), max, progress)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", "", err
	}
	got := hex.EncodeToString(h.Sum(nil))
	if got != listed {
		return "", "", fmt.Errorf("%s %s: downloaded %s has sha256 %s, the signed %s says %s: %w",
			req.Name, desc.Version, desc.Filename, got, release.SumsFile, listed, ErrChecksum)
	}
	return path, "sha256:" + got, nil
}

func fetchBytes(ctx context.Context, reg Registry, path string, max int64) ([]byte, error) {
	var b bytesWriter
	if _, err := reg.Fetch(ctx, path, &b, max, nil); err != nil {
		return nil, err
	}
	return b, nil
}

type bytesWriter []byte

func (b *bytesWriter) Write(p []byte) (int, error) { *b = append(*b, p...); return len(p), nil }

// unpack extracts archive into dest (created) and returns the plugin
// binary's path after checking the archive holds nothing else.
func unpack(ctx context.Context, name, archive, dest string) (string, error) {
	if err := os.Mkdir(dest, 0o700); err != nil {
		return "", err
	}
	f, err := os.Open(archive)
	if err != nil {
		return "", err
	}
	defer f.Close()
	files, err := release.Unpack(ctx, f, dest, release.Limits{})
	if err != nil {
		return "", fmt.Errorf("unpacking %s: %w", filepath.Base(archive), err)
	}
	if err := release.CheckContents(name, files); err != nil {
		return "", fmt.Errorf("unpacking %s: %w", filepath.Base(archive), err)
	}
	return filepath.Join(dest, release.BinaryName(name)), nil
}

// intact returns the installed plugin e records when its binary for this
// platform is in place with the recorded hash.
func intact(pluginDir string, e lockfile.Entry) (Installed, bool) {
	h, ok := e.Platforms[discovery.Platform()]
	if !ok {
		return Installed{}, false
	}
	path := discovery.Path(pluginDir, e.Name, e.Version)
	sum, err := lockfile.HashFile(path)
	if err != nil || sum != h.Binary {
		return Installed{}, false
	}
	return Installed{Name: e.Name, Version: e.Version, Path: path, SHA256: sum}, true
}

// Remove deletes plugin name's files from pluginDir and its lock entry; it
// reports whether the lock recorded it.
func Remove(pluginDir, lockPath, name string) (bool, error) {
	if err := release.ValidName(name); err != nil {
		return false, err
	}
	lock, diags := lockfile.Load(lockPath)
	if diags.HasErrors() {
		return false, fmt.Errorf("reading lock file: %s", diags.Error())
	}
	found := lock.Remove(name)
	if found {
		if err := lock.Save(lockPath); err != nil {
			return false, fmt.Errorf("writing lock file: %w", err)
		}
	}
	dir := filepath.Dir(filepath.Dir(discovery.Path(pluginDir, name, "0.0.0")))
	if err := os.RemoveAll(dir); err != nil {
		return found, fmt.Errorf("removing %s: %w", dir, err)
	}
	return found, nil
}
