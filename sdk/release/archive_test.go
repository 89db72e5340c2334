package release

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// writeFile writes content to dir/name and returns the path.
func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// testArchive is an Archive of plugin "demo" whose files live in a temp dir.
func testArchive(t testing.TB) Archive {
	t.Helper()
	dir := t.TempDir()
	return Archive{
		Name: "demo", Version: "1.2.3", Platform: Platform{"linux", "amd64"},
		Binary:  writeFile(t, dir, "bin", "#!/bin/sh\necho demo\n"),
		Readme:  writeFile(t, dir, "README.md", "# demo\n"),
		License: writeFile(t, dir, "LICENSE", "MIT\n"),
	}
}

func archiveBytes(t testing.TB, a Archive) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteArchive(context.Background(), &b, a); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestWriteArchiveDeterministic(t *testing.T) {
	a := testArchive(t)
	first := archiveBytes(t, a)
	// Same contents from other files with other times and modes.
	dir := t.TempDir()
	b := a
	b.Binary = writeFile(t, dir, "other-bin", "#!/bin/sh\necho demo\n")
	if err := os.Chtimes(b.Binary, time.Unix(1e9, 0), time.Unix(1e9, 0)); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(b.Binary, 0o700); err != nil {
		t.Fatal(err)
	}
	if second := archiveBytes(t, b); !bytes.Equal(first, second) {
		t.Fatal("the same inputs gave different archive bytes")
	}

	zr, err := gzip.NewReader(bytes.NewReader(first))
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() || zr.Comment != "" {
		t.Errorf("gzip header has name %q, time %v, comment %q; want none", zr.Name, zr.ModTime, zr.Comment)
	}
	type entry struct {
		Name     string
		Mode     int64
		UID, GID int
		Uname    string
		ModTime  int64
		Typeflag byte
		Body     string
	}
	var got []entry
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		got = append(got, entry{h.Name, h.Mode, h.Uid, h.Gid, h.Uname, h.ModTime.Unix(), h.Typeflag, string(body)})
	}
	want := []entry{
		{"LICENSE", 0o644, 0, 0, "", 0, tar.TypeReg, "MIT\n"},
		{"README.md", 0o644, 0, 0, "", 0, tar.TypeReg, "# demo\n"},
		{"vigil-plugin-demo", 0o755, 0, 0, "", 0, tar.TypeReg, "#!/bin/sh\necho demo\n"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
}

func TestWriteArchiveErrors(t *testing.T) {
	good := testArchive(t)
	for name, mod := range map[string]func(*Archive){
		"bad name":     func(a *Archive) { a.Name = "Demo" },
		"bad version":  func(a *Archive) { a.Version = "v1.2.3" },
		"bad platform": func(a *Archive) { a.Platform.OS = "linux_x" },
		"no binary":    func(a *Archive) { a.Binary = filepath.Join(t.TempDir(), "missing") },
		"dir binary":   func(a *Archive) { a.Binary = t.TempDir() },
	} {
		t.Run(name, func(t *testing.T) {
			a := good
			mod(&a)
			if err := WriteArchive(context.Background(), io.Discard, a); err == nil {
				t.Error("WriteArchive succeeded, want an error")
			}
		})
	}
}

func TestArchiveName(t *testing.T) {
	tests := map[string]struct {
		name, version string
		p             Platform
		file          string
	}{
		"plain":      {"cpu", "1.0.0", Platform{"linux", "amd64"}, "vigil-plugin-cpu_1.0.0_linux_amd64.tar.gz"},
		"underscore": {"disk_io", "2.0.0-rc.1+b7", Platform{"darwin", "arm64"}, "vigil-plugin-disk_io_2.0.0-rc.1+b7_darwin_arm64.tar.gz"},
		"dash":       {"http-check", "0.1.0", Platform{"windows", "386"}, "vigil-plugin-http-check_0.1.0_windows_386.tar.gz"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			file := ArchiveName(tc.name, tc.version, tc.p)
			if diff := cmp.Diff(tc.file, file); diff != "" {
				t.Errorf("ArchiveName (-want +got):\n%s", diff)
			}
			n, v, p, err := ParseArchiveName(file)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]any{tc.name, tc.version, tc.p}, []any{n, v, p}); diff != "" {
				t.Errorf("ParseArchiveName (-want +got):\n%s", diff)
			}
		})
	}
	for _, bad := range []string{
		"", "vigil-plugin-cpu.tar.gz", "cpu_1.0.0_linux_amd64.tar.gz", "vigil-plugin-cpu_1.0.0_linux_amd64.zip",
		"vigil-plugin-cpu_1.0_linux_amd64.tar.gz", "vigil-plugin-_1.0.0_linux_amd64.tar.gz",
		"vigil-plugin-cpu_1.0.0_linux_AMD64.tar.gz", "vigil-plugin-cpu_1.0.0__amd64.tar.gz",
	} {
		if _, _, _, err := ParseArchiveName(bad); err == nil {
			t.Errorf("ParseArchiveName(%q) succeeded, want an error", bad)
		}
	}
}

func TestCheckContents(t *testing.T) {
	tests := map[string]struct {
		files []string
		ok    bool
	}{
		"binary only":  {[]string{"vigil-plugin-demo"}, true},
		"all":          {[]string{"LICENSE", "README.md", "vigil-plugin-demo"}, true},
		"no binary":    {[]string{"README.md"}, false},
		"other binary": {[]string{"vigil-plugin-other"}, false},
		"extra file":   {[]string{"vigil-plugin-demo", "install.sh"}, false},
		"in subdir":    {[]string{"bin/vigil-plugin-demo"}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := CheckContents("demo", tc.files)
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrContents)) {
				t.Errorf("CheckContents = %v, want ok=%v or ErrContents", err, tc.ok)
			}
		})
	}
}
