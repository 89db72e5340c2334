package release

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"
)

// File names inside an archive besides the binary.
const (
	ReadmeFile  = "README.md"
	LicenseFile = "LICENSE"
)

var (
	nameRe     = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)
	versionRe  = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
	platformRe = regexp.MustCompile(`^[a-z0-9]+$`)
)

// ValidName reports whether name is a valid plugin name: a lowercase
// letter followed by lowercase letters, digits, '_' and '-'.
func ValidName(name string) error {
	if !nameRe.MatchString(name) {
		return fmt.Errorf("invalid plugin name %q: want a lowercase letter followed by lowercase letters, digits, '_' or '-'", name)
	}
	return nil
}

// ValidVersion reports whether v is a semantic version without a "v"
// prefix, such as 1.2.3 or 1.0.0-rc.1.
func ValidVersion(v string) error {
	if !versionRe.MatchString(v) {
		return fmt.Errorf("invalid version %q: want a semantic version such as 1.2.3", v)
	}
	return nil
}

// Platform is an operating system and architecture in Go's terms.
type Platform struct{ OS, Arch string }

// String returns "os/arch".
func (p Platform) String() string { return p.OS + "/" + p.Arch }

// ParsePlatform parses "os/arch", such as "linux/amd64".
func ParsePlatform(s string) (Platform, error) {
	o, a, ok := strings.Cut(s, "/")
	if !ok || !platformRe.MatchString(o) || !platformRe.MatchString(a) {
		return Platform{}, fmt.Errorf("invalid platform %q: want os/arch such as linux/amd64", s)
	}
	return Platform{o, a}, nil
}

// BinaryName is the name of plugin name's executable: "vigil-plugin-<name>".
func BinaryName(name string) string { return "vigil-plugin-" + name }

// ArchiveName is the file name of a release archive:
// "vigil-plugin-<name>_<version>_<os>_<arch>.tar.gz".
func ArchiveName(name, version string, p Platform) string {
	return BinaryName(name) + "_" + version + "_" + p.OS + "_" + p.Arch + ".tar.gz"
}

// ParseArchiveName splits an archive file name made by ArchiveName. A
// version never contains '_', so the name is what precedes the last three.
func ParseArchiveName(file string) (name, version string, p Platform, err error) {
	s, ok := strings.CutSuffix(file, ".tar.gz")
	if ok {
		s, ok = strings.CutPrefix(s, "vigil-plugin-")
	}
	parts := strings.Split(s, "_")
	if !ok || len(parts) < 4 {
		return "", "", Platform{}, fmt.Errorf("invalid archive name %q: want vigil-plugin-<name>_<version>_<os>_<arch>.tar.gz", file)
	}
	n := len(parts)
	name, version = strings.Join(parts[:n-3], "_"), parts[n-3]
	p = Platform{parts[n-2], parts[n-1]}
	if err := ValidName(name); err != nil {
		return "", "", Platform{}, fmt.Errorf("archive %q: %w", file, err)
	}
	if err := ValidVersion(version); err != nil {
		return "", "", Platform{}, fmt.Errorf("archive %q: %w", file, err)
	}
	if _, err := ParsePlatform(p.String()); err != nil {
		return "", "", Platform{}, fmt.Errorf("archive %q: %w", file, err)
	}
	return name, version, p, nil
}

// Archive is what goes into one release archive.
type Archive struct {
	Name     string
	Version  string
	Platform Platform
	Binary   string // path of the plugin executable for Platform
	Readme   string // optional path of a README.md
	License  string // optional path of a LICENSE
}

// FileName is the archive's file name, see ArchiveName.
func (a Archive) FileName() string { return ArchiveName(a.Name, a.Version, a.Platform) }

// WriteArchive writes a's tar.gz to w. The output depends only on the
// contents of the files: entries are sorted, times are zero, owners are
// 0/0 with no names, and the gzip header carries no name or time.
func WriteArchive(ctx context.Context, w io.Writer, a Archive) error {
	if err := ValidName(a.Name); err != nil {
		return fmt.Errorf("writing archive: %w", err)
	}
	if err := ValidVersion(a.Version); err != nil {
		return fmt.Errorf("writing archive: %w", err)
	}
	if _, err := ParsePlatform(a.Platform.String()); err != nil {
		return fmt.Errorf("writing archive: %w", err)
	}
	type entry struct {
		name, src string
		mode      int64
	}
	entries := []entry{{BinaryName(a.Name), a.Binary, 0o755}}
	if a.Readme != "" {
		entries = append(entries, entry{ReadmeFile, a.Readme, 0o644})
	}
	if a.License != "" {
		entries = append(entries, entry{LicenseFile, a.License, 0o644})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })

	// Level 1: plugin archives are mostly Go binaries, which deflate at
	// level 1 about four times faster than at the default for archives
	// some 10% larger; packaging and the tests that build archives are
	// bounded by this.
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return fmt.Errorf("writing archive: %w", err)
	}
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("writing archive: interrupted: %w", err)
		}
		if err := addFile(tw, e.name, e.src, e.mode); err != nil {
			return fmt.Errorf("writing archive %s: %w", a.FileName(), err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("writing archive %s: %w", a.FileName(), err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("writing archive %s: %w", a.FileName(), err)
	}
	return nil
}

// addFile copies the regular file src into tw as name with mode.
func addFile(tw *tar.Writer, name, src string, mode int64) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("adding %s: %w", name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("adding %s: %w", name, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("adding %s: %s is not a regular file", name, src)
	}
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Mode:     mode,
		Size:     fi.Size(),
		ModTime:  time.Unix(0, 0),
		Format:   tar.FormatUSTAR,
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("adding %s: %w", name, err)
	}
	n, err := io.Copy(tw, f)
	if err != nil {
		return fmt.Errorf("adding %s: %w", name, err)
	}
	if n != fi.Size() {
		return fmt.Errorf("adding %s: %s changed size while being read", name, src)
	}
	return nil
}

// ErrContents means an unpacked archive does not hold exactly the plugin
// binary and optionally README.md and LICENSE.
var ErrContents = errors.New("unexpected archive contents")

// CheckContents checks the file list returned by Unpack against what a
// release archive of plugin name may contain.
func CheckContents(name string, files []string) error {
	bin := false
	for _, f := range files {
		switch f {
		case BinaryName(name):
			bin = true
		case ReadmeFile, LicenseFile:
		default:
			return fmt.Errorf("%w: %q is not %s, %s or %s", ErrContents, f, BinaryName(name), ReadmeFile, LicenseFile)
		}
	}
	if !bin {
		return fmt.Errorf("%w: no %s", ErrContents, BinaryName(name))
	}
	return nil
}
