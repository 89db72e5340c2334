package command

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/vigilmon/vigil/sdk/release"
)

// PluginPackageCommand builds, packages and signs a plugin release.
type PluginPackageCommand struct{ Meta }

// Synopsis implements Command.
func (c *PluginPackageCommand) Synopsis() string { return "Build and sign a plugin release" }

// Help implements Command.
func (c *PluginPackageCommand) Help() string {
	return `Usage: vigil plugin package <dir> --version V --key FILE [--platform OS/ARCH,...] [--name NAME] [--out DIST] [--format human|json]

  Builds the Go main package in <dir> once per platform (CGO_ENABLED=0,
  -trimpath, -ldflags "-s -w"), packs each binary as vigil-plugin-<name>
  (with README.md and LICENSE from <dir> when present) into
  vigil-plugin-<name>_<version>_<os>_<arch>.tar.gz, and writes SHA256SUMS
  over the archives and SHA256SUMS.sig, its signature with the key made
  by "vigil plugin keygen". The same sources and toolchain give the same
  archives. Upload the contents of DIST to the registry.

Options:
  --version V       the release's semantic version, such as 1.2.0 (required)
  --key FILE        the private signing key (required)
  --platform LIST   comma-separated os/arch (default linux/amd64,linux/arm64)
  --name NAME       the plugin name (default: <dir>'s base name without
                    a "vigil-plugin-" prefix)
  --out DIST        output directory (default <dir>/dist)
  --format F        human or json`
}

// packageArgs are the parsed arguments of plugin package.
type packageArgs struct {
	dir, version, key, name, out, format string
	platforms                            []release.Platform
}

// parsePackageArgs parses and checks the arguments.
func parsePackageArgs(args []string, stderr io.Writer) (packageArgs, error) {
	fs := newFlags("plugin package", stderr)
	var a packageArgs
	fs.StringVar(&a.version, "version", "", "release version")
	fs.StringVar(&a.key, "key", "", "private signing key file")
	platforms := fs.StringSlice("platform", []string{"linux/amd64", "linux/arm64"}, "os/arch to build for")
	fs.StringVar(&a.name, "name", "", "plugin name")
	fs.StringVar(&a.out, "out", "", "output directory")
	fs.StringVar(&a.format, "format", "human", "output format: human or json")
	if err := fs.Parse(args); err != nil {
		return a, err
	}
	if err := format(a.format).Valid(); err != nil {
		return a, err
	}
	if fs.NArg() != 1 {
		return a, errors.New("give exactly one plugin directory")
	}
	a.dir = fs.Arg(0)
	if a.version == "" {
		return a, errors.New("--version is required")
	}
	if err := release.ValidVersion(a.version); err != nil {
		return a, fmt.Errorf("--version: %w", err)
	}
	if a.key == "" {
		return a, errors.New("--key is required (make one with vigil plugin keygen)")
	}
	if len(*platforms) == 0 {
		return a, errors.New("--platform: give at least one os/arch")
	}
	seen := map[release.Platform]bool{}
	for _, s := range *platforms {
		p, err := release.ParsePlatform(s)
		if err != nil {
			return a, fmt.Errorf("--platform: %w", err)
		}
		if !seen[p] {
			a.platforms = append(a.platforms, p)
		}
		seen[p] = true
	}
	if a.name == "" {
		abs, err := filepath.Abs(a.dir)
		if err != nil {
			return a, err
		}
		a.name = strings.TrimPrefix(filepath.Base(abs), "vigil-plugin-")
	}
	if err := release.ValidName(a.name); err != nil {
		return a, fmt.Errorf("%w (set it with --name)", err)
	}
	if a.out == "" {
		a.out = filepath.Join(a.dir, "dist")
	}
	return a, nil
}

// packagedFile is one file plugin package wrote.
type packagedFile struct {
	File     string `json:"file"`
	Platform string `json:"platform,omitempty"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
}

// packageResult is what plugin package reports.
type packageResult struct {
	Name      string         `json:"name"`
	Version   string         `json:"version"`
	PublicKey string         `json:"public_key"`
	KeyID     string         `json:"key_id"`
	Dir       string         `json:"dir"`
	Files     []packagedFile `json:"files"`
}

// Run implements Command.
func (c *PluginPackageCommand) Run(ctx context.Context, args []string) int {
	a, err := parsePackageArgs(args, c.Stderr)
	if err != nil {
		fmt.Fprintf(c.Stderr, "vigil plugin package: %v\n", err)
		return ExitUsage
	}
	priv, err := release.ReadPrivateKeyFile(a.key)
	if err != nil {
		fmt.Fprintf(c.Stderr, "vigil plugin package: %v\n", err)
		return ExitUsage
	}
	res, err := packagePlugin(ctx, a, priv)
	if err != nil {
		if ctx.Err() != nil {
			err = errors.New("packaging interrupted")
		}
		fmt.Fprintf(c.Stderr, "vigil plugin package: %v\n", err)
		return ExitFailure
	}
	if a.format == "json" {
		b, _ := json.MarshalIndent(res, "", "  ")
		fmt.Fprintln(c.Stdout, string(b))
		return ExitOK
	}
	fmt.Fprintf(c.Stdout, "Packaged %s %s into %s, signed with key %s:\n", res.Name, res.Version, res.Dir, res.KeyID)
	for _, f := range res.Files {
		fmt.Fprintf(c.Stdout, "  %-50s %10d bytes  sha256:%s\n", f.File, f.Size, f.SHA256)
	}
	return ExitOK
}

// packagePlugin builds every platform, then writes the archives, the sums
// and the signature into a.out.
func packagePlugin(ctx context.Context, a packageArgs, priv release.PrivateKey) (*packageResult, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("finding the go command: %w", err)
	}
	if err := checkMainPackage(ctx, goBin, a.dir); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "vigil-package-")
	if err != nil {
		return nil, fmt.Errorf("making a build directory: %w", err)
	}
	defer os.RemoveAll(tmp)

	archives := make([]release.Archive, 0, len(a.platforms))
	for _, p := range a.platforms {
		bin := filepath.Join(tmp, p.OS+"_"+p.Arch, release.BinaryName(a.name))
		if err := goBuild(ctx, goBin, a.dir, bin, p); err != nil {
			return nil, err
		}
		archives = append(archives, release.Archive{
			Name: a.name, Version: a.version, Platform: p, Binary: bin,
			Readme:  packageExtra(filepath.Join(a.dir, release.ReadmeFile)),
			License: packageExtra(filepath.Join(a.dir, release.LicenseFile)),
		})
	}

	if err := os.MkdirAll(a.out, 0o755); err != nil {
		return nil, fmt.Errorf("making the output directory: %w", err)
	}
	res := &packageResult{Name: a.name, Version: a.version, PublicKey: priv.Public().String(),
		KeyID: release.KeyID(priv.Public()), Dir: a.out}
	var paths []string
	for _, arc := range archives {
		path := filepath.Join(a.out, arc.FileName())
		var b bytes.Buffer
		if err := release.WriteArchive(ctx, &b, arc); err != nil {
			return nil, err
		}
		if err := writePackageFile(path, b.Bytes()); err != nil {
			return nil, err
		}
		paths = append(paths, path)
		res.Files = append(res.Files, packagedFileOf(arc.FileName(), arc.Platform.String(), b.Bytes()))
	}
	sums, err := release.SumFiles(paths...)
	if err != nil {
		return nil, err
	}
	raw, err := sums.Marshal()
	if err != nil {
		return nil, err
	}
	sig := release.Sign(priv, raw)
	for _, f := range []struct {
		name string
		data []byte
	}{{release.SumsFile, raw}, {release.SignatureFile, sig}} {
		if err := writePackageFile(filepath.Join(a.out, f.name), f.data); err != nil {
			return nil, err
		}
		res.Files = append(res.Files, packagedFileOf(f.name, "", f.data))
	}
	return res, nil
}

// checkMainPackage fails unless dir holds a Go main package.
func checkMainPackage(ctx context.Context, goBin, dir string) error {
	cmd := exec.CommandContext(ctx, goBin, "list", "-f", "{{.Name}}", ".")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("reading the Go package in %s: %w\n%s", dir, err, strings.TrimSpace(stderr.String()))
	}
	if name := strings.TrimSpace(string(out)); name != "main" {
		return fmt.Errorf("%s holds package %s, not a main package", dir, name)
	}
	return nil
}

// goBuild builds the main package in dir for p into out.
func goBuild(ctx context.Context, goBin, dir, out string, p release.Platform) error {
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-ldflags", "-s -w", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS="+p.OS, "GOARCH="+p.Arch, "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building for %s: %w\n%s", p, err, strings.TrimSpace(string(b)))
	}
	return nil
}

// regularFile returns path if it is a regular file, else "".
func packageExtra(path string) string {
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
		return path
	}
	return ""
}

// writeFileAtomic writes data to path through a temporary file beside it.
func writePackageFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".vigil-package-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func packagedFileOf(file, platform string, data []byte) packagedFile {
	sum := sha256.Sum256(data)
	return packagedFile{File: file, Platform: platform, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
}
