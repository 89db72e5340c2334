package release

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// ent is one entry of a test archive.
type ent struct {
	hdr  tar.Header
	body string
}

func file(name, body string) ent {
	return ent{tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(body))}, body}
}

func special(typ byte, name, link string) ent {
	return ent{hdr: tar.Header{Typeflag: typ, Name: name, Linkname: link, Mode: 0o644}}
}

// tgz builds a tar.gz of ents, writing headers as given.
func tgz(t testing.TB, ents ...ent) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	for _, e := range ents {
		h := e.hdr
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// listDir returns every path under dir, relative, with its mode.
func listDir(t testing.TB, dir string) map[string]fs.FileMode {
	t.Helper()
	got := map[string]fs.FileMode{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		got[filepath.ToSlash(rel)] = fi.Mode()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestUnpack(t *testing.T) {
	bin := file("./vigil-plugin-x", "binary")
	bin.hdr.Mode = 0o700
	private := file("docs/notes.txt", "notes")
	private.hdr.Mode = 0o600
	arch := tgz(t,
		special(tar.TypeDir, "./", ""),
		bin,
		special(tar.TypeDir, "docs/", ""),
		private,
		file("deep/er/x", "x"), // parents without their own entries
	)
	dest := t.TempDir()
	files, err := Unpack(context.Background(), bytes.NewReader(arch), dest, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"vigil-plugin-x", "docs/notes.txt", "deep/er/x"}, files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	want := map[string]fs.FileMode{
		"vigil-plugin-x": 0o755,
		"docs":           fs.ModeDir | 0o755,
		"docs/notes.txt": 0o644,
		"deep":           fs.ModeDir | 0o755,
		"deep/er":        fs.ModeDir | 0o755,
		"deep/er/x":      0o644,
	}
	if diff := cmp.Diff(want, listDir(t, dest)); diff != "" {
		t.Errorf("dest (-want +got):\n%s", diff)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "docs", "notes.txt")); string(b) != "notes" {
		t.Errorf("notes.txt = %q", b)
	}
}

func TestUnpackRefuses(t *testing.T) {
	ok := file("vigil-plugin-x", "binary") // written first, so undo is tested
	many := []ent{}
	for i := range 10000 {
		many = append(many, file(fmt.Sprintf("f%05d", i), ""))
	}
	tests := map[string]struct {
		ents   []ent
		limits Limits
		want   error
		entry  string
	}{
		"dotdot":           {[]ent{ok, file("../x", "x")}, Limits{}, ErrUnsafePath, "../x"},
		"inner dotdot":     {[]ent{ok, file("a/../../x", "x")}, Limits{}, ErrUnsafePath, "a/../../x"},
		"absolute":         {[]ent{ok, file("/etc/x", "x")}, Limits{}, ErrUnsafePath, "/etc/x"},
		"backslash":        {[]ent{ok, file(`..\x`, "x")}, Limits{}, ErrUnsafePath, `..\x`},
		"drive":            {[]ent{ok, file("C:/x", "x")}, Limits{}, ErrUnsafePath, "C:/x"},
		"duplicate":        {[]ent{ok, file("./vigil-plugin-x", "again")}, Limits{}, ErrUnsafePath, "./vigil-plugin-x"},
		"file as dest":     {[]ent{ok, file(".", "x")}, Limits{}, ErrUnsafePath, "."},
		"file under file":  {[]ent{ok, file("vigil-plugin-x/y", "x")}, Limits{}, ErrUnsafePath, "vigil-plugin-x/y"},
		"symlink outside":  {[]ent{ok, special(tar.TypeSymlink, "evil", "/etc/passwd")}, Limits{}, ErrLink, "evil"},
		"symlink then use": {[]ent{ok, special(tar.TypeSymlink, "d", ".."), file("d/x", "x")}, Limits{}, ErrLink, "d"},
		"symlink inside":   {[]ent{ok, special(tar.TypeSymlink, "l", "vigil-plugin-x")}, Limits{}, ErrLink, "l"},
		"hard link":        {[]ent{ok, special(tar.TypeLink, "h", "vigil-plugin-x")}, Limits{}, ErrLink, "h"},
		"char device":      {[]ent{ok, special(tar.TypeChar, "null", "")}, Limits{}, ErrSpecialFile, "null"},
		"block device":     {[]ent{ok, special(tar.TypeBlock, "sda", "")}, Limits{}, ErrSpecialFile, "sda"},
		"fifo":             {[]ent{ok, special(tar.TypeFifo, "pipe", "")}, Limits{}, ErrSpecialFile, "pipe"},
		"10k files":        {append([]ent{ok}, many...), Limits{}, ErrTooManyFiles, "f00063"},
		"max files":        {[]ent{ok, file("a", ""), file("b", "")}, Limits{MaxFiles: 2}, ErrTooManyFiles, "b"},
		"too many bytes":   {[]ent{ok, file("a", "12345")}, Limits{MaxBytes: 10}, ErrTooLarge, "a"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			dest := filepath.Join(parent, "dest")
			if err := os.Mkdir(dest, 0o755); err != nil {
				t.Fatal(err)
			}
			files, err := Unpack(context.Background(), bytes.NewReader(tgz(t, tc.ents...)), dest, tc.limits)
			checkRefused(t, err, tc.want, tc.entry)
			if files != nil {
				t.Errorf("files = %v, want nil on error", files)
			}
			if diff := cmp.Diff(map[string]fs.FileMode{"dest": fs.ModeDir | 0o755}, listDir(t, parent)); diff != "" {
				t.Errorf("left behind (-want +got):\n%s", diff)
			}
		})
	}
}

func checkRefused(t *testing.T, err, want error, entry string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
	var ee *EntryError
	if !errors.As(err, &ee) || ee.Entry != entry {
		t.Errorf("err = %v, want an *EntryError for %q", err, entry)
	}
}

// TestUnpackGzipBomb streams a tar.gz holding 1 GiB of zeros, made while
// it is read: Unpack must refuse it after reading almost none of it.
func TestUnpackGzipBomb(t *testing.T) {
	const size = 1 << 30
	for name, ents := range map[string][]ent{
		"one big file": nil,
		// Files each under the limit that add up past it.
		"many files": {file("a", ""), file("b", "")},
	} {
		t.Run(name, func(t *testing.T) {
			pr, pw := io.Pipe()
			var produced atomic.Int64
			done := make(chan error, 1)
			limits := Limits{MaxBytes: 8 << 20}
			go func() {
				zw := gzip.NewWriter(pw)
				tw := tar.NewWriter(zw)
				zeros := make([]byte, 1<<20)
				err := func() error {
					for i := 0; ; i++ {
						n := int64(size)
						if ents != nil {
							n = limits.MaxBytes - 1 // each fits, two do not
						}
						if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: fmt.Sprintf("zeros%d", i), Mode: 0o644, Size: n}); err != nil {
							return err
						}
						for n > 0 {
							k, err := tw.Write(zeros[:min(n, int64(len(zeros)))])
							produced.Add(int64(k))
							if err != nil {
								return err
							}
							n -= int64(k)
						}
						if ents == nil || produced.Load() >= size {
							break
						}
					}
					if err := tw.Close(); err != nil {
						return err
					}
					return zw.Close()
				}()
				pw.CloseWithError(err)
				done <- err
			}()
			parent := t.TempDir()
			dest := filepath.Join(parent, "dest")
			if err := os.Mkdir(dest, 0o755); err != nil {
				t.Fatal(err)
			}
			_, err := Unpack(context.Background(), pr, dest, limits)
			pr.CloseWithError(errors.New("reader gone"))
			<-done
			want := "zeros0"
			if ents != nil {
				want = "zeros1"
			}
			checkRefused(t, err, ErrTooLarge, want)
			if got := produced.Load(); got > 4*limits.MaxBytes {
				t.Errorf("%d bytes decompressed before refusing, want at most %d", got, 4*limits.MaxBytes)
			}
			if diff := cmp.Diff(map[string]fs.FileMode{"dest": fs.ModeDir | 0o755}, listDir(t, parent)); diff != "" {
				t.Errorf("left behind (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnpackKeepsExisting(t *testing.T) {
	dest := t.TempDir()
	writeFile(t, dest, "keep", "mine")
	if err := os.Symlink("/etc", filepath.Join(dest, "link")); err != nil {
		t.Fatal(err)
	}
	for name, e := range map[string]ent{
		"overwrite":    file("keep", "theirs"),
		"through link": file("link/x", "x"),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Unpack(context.Background(), bytes.NewReader(tgz(t, file("new", "n"), e)), dest, Limits{}); err == nil {
				t.Fatal("Unpack succeeded, want an error")
			}
			want := map[string]fs.FileMode{"keep": 0o644, "link": fs.ModeSymlink | 0o777}
			if diff := cmp.Diff(want, listDir(t, dest)); diff != "" {
				t.Errorf("dest (-want +got):\n%s", diff)
			}
			if b, _ := os.ReadFile(filepath.Join(dest, "keep")); string(b) != "mine" {
				t.Errorf("keep = %q, want mine", b)
			}
		})
	}
}

func TestUnpackCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dest := t.TempDir()
	_, err := Unpack(ctx, bytes.NewReader(tgz(t, file("a", "a"))), dest, Limits{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if got := listDir(t, dest); len(got) != 0 {
		t.Errorf("left behind %v", got)
	}
}

func TestUnpackBrokenStreams(t *testing.T) {
	good := tgz(t, file("a", "hello"))
	for name, b := range map[string][]byte{
		"not gzip":  []byte("hello"),
		"truncated": good[:len(good)-20],
		"empty":     nil,
	} {
		t.Run(name, func(t *testing.T) {
			dest := t.TempDir()
			if _, err := Unpack(context.Background(), bytes.NewReader(b), dest, Limits{}); err == nil {
				t.Error("Unpack succeeded, want an error")
			}
			if got := listDir(t, dest); len(got) != 0 {
				t.Errorf("left behind %v", got)
			}
		})
	}
}

func FuzzUnpack(f *testing.F) {
	f.Add(tgz(f, file("vigil-plugin-x", "bin"), file("README.md", "r")))
	f.Add(tgz(f, special(tar.TypeDir, "d/", ""), file("d/x", "x"), file("../y", "y")))
	f.Add(tgz(f, special(tar.TypeSymlink, "l", "/etc"), file("l/x", "x")))
	f.Add(tgz(f, file("a", "1"), file("a", "2")))
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, b []byte) {
		parent := t.TempDir()
		dest := filepath.Join(parent, "dest")
		if err := os.Mkdir(dest, 0o755); err != nil {
			t.Fatal(err)
		}
		files, err := Unpack(context.Background(), bytes.NewReader(b), dest, Limits{MaxFiles: 32, MaxBytes: 1 << 20})
		got := listDir(t, parent)
		for p, mode := range got {
			if p != "dest" && !(len(p) > 5 && p[:5] == "dest/") {
				t.Fatalf("wrote %q outside dest", p)
			}
			if !mode.IsDir() && mode != 0o644 && mode != 0o755 {
				t.Fatalf("%q has mode %v", p, mode)
			}
		}
		if err != nil && len(got) != 1 {
			t.Fatalf("error %v but left %v", err, got)
		}
		for _, f := range files {
			if m, ok := got["dest/"+f]; !ok || !m.IsRegular() {
				t.Fatalf("returned %q, not a file in dest", f)
			}
		}
	})
}
