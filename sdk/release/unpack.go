package release

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Defaults for a zero Limits field. A release archive holds one binary
// and two small text files.
const (
	DefaultMaxFiles = 64
	DefaultMaxBytes = 512 << 20
)

// Limits bounds what Unpack accepts. A zero field takes its default.
type Limits struct {
	MaxFiles int   // entries of any kind
	MaxBytes int64 // total uncompressed bytes of the files
}

func (l Limits) withDefaults() Limits {
	if l.MaxFiles <= 0 {
		l.MaxFiles = DefaultMaxFiles
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	return l
}

// Errors Unpack returns, wrapped in an *EntryError naming the entry, for
// callers that tell a hostile archive from a broken download.
var (
	// ErrUnsafePath: an absolute name, a ".." component, a backslash,
	// colon or NUL, or a name given twice.
	ErrUnsafePath = errors.New("unsafe path")
	// ErrLink: a symbolic or hard link, whatever its target.
	ErrLink = errors.New("links are not allowed")
	// ErrSpecialFile: a device, fifo or other entry that is neither a
	// regular file nor a directory.
	ErrSpecialFile = errors.New("only regular files and directories are allowed")
	// ErrTooLarge: the files add up to more than Limits.MaxBytes.
	ErrTooLarge = errors.New("archive too large")
	// ErrTooManyFiles: more than Limits.MaxFiles entries.
	ErrTooManyFiles = errors.New("too many entries")
)

// EntryError is an Unpack failure at one archive entry.
type EntryError struct {
	Entry string // the entry's name as the archive gives it
	Err   error
}

func (e *EntryError) Error() string { return fmt.Sprintf("entry %q: %v", e.Entry, e.Err) }
func (e *EntryError) Unwrap() error { return e.Err }

// Unpack extracts the tar.gz stream r into the existing directory dest and
// returns the slash-separated relative paths of the regular files it wrote,
// in archive order. It accepts only regular files and directories with
// local, unique names, creates files with mode 0644 or 0755 (0755 when the
// header has any execute bit), never overwrites or follows anything already
// in dest, and stops reading as soon as limits are exceeded. ctx is checked
// between entries and while copying. On any error it removes everything it
// wrote and leaves dest as it found it.
func Unpack(ctx context.Context, r io.Reader, dest string, limits Limits) (files []string, err error) {
	limits = limits.withDefaults()
	root, err := os.OpenRoot(dest)
	if err != nil {
		return nil, fmt.Errorf("unpacking archive: %w", err)
	}
	defer root.Close()
	u := &unpacker{root: root, limits: limits, seen: map[string]bool{}}
	defer func() {
		if err != nil {
			u.undo()
			files = nil
		}
	}()

	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("unpacking archive: %w", err)
	}
	tr := tar.NewReader(zr)
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("unpacking archive: interrupted: %w", err)
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			return nil, fmt.Errorf("unpacking archive: %w", err)
		}
		if n > limits.MaxFiles {
			return nil, fmt.Errorf("unpacking archive: %w", &EntryError{hdr.Name, fmt.Errorf("%w: more than %d", ErrTooManyFiles, limits.MaxFiles)})
		}
		file, err := u.entry(ctx, hdr, tr)
		if err != nil {
			return nil, fmt.Errorf("unpacking archive: %w", &EntryError{hdr.Name, err})
		}
		if file != "" {
			files = append(files, file)
		}
	}
	return files, nil
}

// unpacker is the state of one Unpack call.
type unpacker struct {
	root    *os.Root
	limits  Limits
	total   int64           // file bytes written so far
	seen    map[string]bool // cleaned names of the entries so far
	created []string        // paths created, in order, for undo
}

// entry writes one archive entry and returns its path if it is a file.
func (u *unpacker) entry(ctx context.Context, hdr *tar.Header, r io.Reader) (string, error) {
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeDir:
	case tar.TypeSymlink, tar.TypeLink:
		return "", fmt.Errorf("%w (to %q)", ErrLink, hdr.Linkname)
	default:
		return "", fmt.Errorf("%w (type %q)", ErrSpecialFile, hdr.Typeflag)
	}
	name, err := localName(hdr.Name)
	if err != nil {
		return "", err
	}
	if name == "." {
		if hdr.Typeflag == tar.TypeDir {
			return "", nil // "./": dest itself
		}
		return "", fmt.Errorf("%w: a file cannot be the destination itself", ErrUnsafePath)
	}
	if u.seen[name] {
		return "", fmt.Errorf("%w: duplicate entry", ErrUnsafePath)
	}
	u.seen[name] = true
	if err := u.mkdirs(path.Dir(name)); err != nil {
		return "", err
	}
	if hdr.Typeflag == tar.TypeDir {
		return "", u.mkdir(name)
	}

	remaining := u.limits.MaxBytes - u.total
	if hdr.Size > remaining {
		return "", fmt.Errorf("%w: %d bytes would exceed the limit of %d", ErrTooLarge, u.total+hdr.Size, u.limits.MaxBytes)
	}
	mode := fs.FileMode(0o644)
	if hdr.Mode&0o111 != 0 {
		mode = 0o755
	}
	f, err := u.root.OpenFile(filepath.FromSlash(name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return "", err
	}
	u.created = append(u.created, name)
	// Count what is really copied, whatever the header says, and stop one
	// byte past the limit.
	n, err := io.Copy(f, io.LimitReader(ctxReader{ctx, r}, remaining+1))
	u.total += n
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		return "", err
	case n > remaining:
		return "", fmt.Errorf("%w: more than %d bytes", ErrTooLarge, u.limits.MaxBytes)
	case n != hdr.Size:
		return "", fmt.Errorf("%d bytes, header says %d", n, hdr.Size)
	}
	// The umask may have cleared bits; the mode must not depend on it.
	if err := u.root.Chmod(filepath.FromSlash(name), mode); err != nil {
		return "", err
	}
	return name, nil
}

// mkdirs creates the missing directories of the slash path dir.
func (u *unpacker) mkdirs(dir string) error {
	if dir == "." {
		return nil
	}
	if err := u.mkdirs(path.Dir(dir)); err != nil {
		return err
	}
	fi, err := u.root.Lstat(filepath.FromSlash(dir))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return u.mkdir(dir)
	case err != nil:
		return err
	case !fi.IsDir():
		return fmt.Errorf("%w: %s is not a directory", ErrUnsafePath, dir)
	}
	return nil
}

func (u *unpacker) mkdir(dir string) error {
	if err := u.root.Mkdir(filepath.FromSlash(dir), 0o755); err != nil {
		return err
	}
	u.created = append(u.created, dir)
	return u.root.Chmod(filepath.FromSlash(dir), 0o755)
}

// undo removes what was created, deepest last-made first.
func (u *unpacker) undo() {
	for i := len(u.created) - 1; i >= 0; i-- {
		u.root.Remove(filepath.FromSlash(u.created[i]))
	}
	u.created = nil
}

// localName cleans an entry name and refuses one that could leave the
// destination or mean different files on different systems.
func localName(name string) (string, error) {
	switch {
	case name == "":
		return "", fmt.Errorf("%w: empty name", ErrUnsafePath)
	case strings.HasPrefix(name, "/"):
		return "", fmt.Errorf("%w: absolute name", ErrUnsafePath)
	case strings.ContainsAny(name, "\\:\x00"):
		return "", fmt.Errorf("%w: backslash, colon or NUL in name", ErrUnsafePath)
	}
	for _, c := range strings.Split(name, "/") {
		if c == ".." {
			return "", fmt.Errorf("%w: \"..\" in name", ErrUnsafePath)
		}
	}
	clean := path.Clean(name)
	if clean != "." && !filepath.IsLocal(filepath.FromSlash(clean)) {
		return "", fmt.Errorf("%w: not a local name", ErrUnsafePath)
	}
	return clean, nil
}

// ctxReader fails reads once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, fmt.Errorf("interrupted: %w", err)
	}
	return c.r.Read(p)
}
