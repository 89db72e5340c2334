package release

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	hashA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	hashB = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

func TestSumsRoundTrip(t *testing.T) {
	s := Sums{{"b.tar.gz", hashB}, {"a.tar.gz", hashA}}
	b, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := hashA + "  a.tar.gz\n" + hashB + "  b.tar.gz\n"
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("Marshal (-want +got):\n%s", diff)
	}
	got, err := ParseSums(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Sums{{"a.tar.gz", hashA}, {"b.tar.gz", hashB}}, got); diff != "" {
		t.Errorf("ParseSums (-want +got):\n%s", diff)
	}
	if h, ok := got.Lookup("b.tar.gz"); !ok || h != hashB {
		t.Errorf("Lookup = %q, %v", h, ok)
	}
	if _, err := (Sums{{"a", hashA}, {"a", hashB}}).Marshal(); err == nil {
		t.Error("Marshal of a duplicate succeeded")
	}
	if _, err := (Sums{}).Marshal(); err == nil {
		t.Error("Marshal of nothing succeeded")
	}
}

func TestParseSumsErrors(t *testing.T) {
	for name, in := range map[string]string{
		"empty":           "",
		"no final eol":    hashA + "  a",
		"one space":       hashA + " a\n",
		"binary marker":   hashA + " *a\n",
		"upper hex":       strings.ToUpper(hashA) + "  a\n",
		"short hash":      hashA[:63] + "  a\n",
		"not hex":         strings.Repeat("g", 64) + "  a\n",
		"crlf":            hashA + "  a\r\n",
		"blank line":      hashA + "  a\n\n",
		"path":            hashA + "  dir/a\n",
		"dotdot":          hashA + "  ..\n",
		"leading dot":     hashA + "  .hidden\n",
		"space in name":   hashA + "  a b\n",
		"empty name":      hashA + "  \n",
		"unsorted":        hashA + "  b\n" + hashB + "  a\n",
		"duplicate":       hashA + "  a\n" + hashB + "  a\n",
		"trailing space":  hashA + "  a \n",
		"too large":       strings.Repeat(hashA+"  a\n", MaxSumsSize/66+1),
		"comment":         "# sums\n" + hashA + "  a\n",
		"three spaces":    hashA + "   a\n",
		"tab":             hashA + "\ta\n",
		"long name":       hashA + "  " + strings.Repeat("a", 256) + "\n",
		"only newline":    "\n",
		"nul in name":     hashA + "  a\x00\n",
		"unicode in name": hashA + "  é\n",
	} {
		t.Run(name, func(t *testing.T) {
			if s, err := ParseSums([]byte(in)); err == nil {
				t.Errorf("ParseSums succeeded with %v, want an error", s)
			}
		})
	}
}

func FuzzParseSums(f *testing.F) {
	f.Add([]byte(hashA + "  a.tar.gz\n" + hashB + "  b.tar.gz\n"))
	f.Add([]byte(hashA + "  vigil-plugin-x_1.0.0_linux_amd64.tar.gz\n"))
	f.Add([]byte(hashA + " *a\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSums(b)
		if err != nil {
			return
		}
		// Strict parsing: what is accepted is exactly what Marshal writes.
		out, err := s.Marshal()
		if err != nil {
			t.Fatalf("Marshal of parsed sums: %v", err)
		}
		if string(out) != string(b) {
			t.Fatalf("round trip changed the text:\n%q\n%q", b, out)
		}
	})
}

// TestRelease is the whole path: package, sum, sign, verify, unpack.
func TestRelease(t *testing.T) {
	pub, priv, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	dist := t.TempDir()
	var paths []string
	for _, p := range []Platform{{"linux", "amd64"}, {"linux", "arm64"}} {
		a := testArchive(t)
		a.Platform = p
		path := filepath.Join(dist, a.FileName())
		if err := os.WriteFile(path, archiveBytes(t, a), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	sums, err := SumFiles(paths...)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sums.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dist, SumsFile, string(raw))
	writeFile(t, dist, SignatureFile, string(Sign(priv, raw)))

	got, err := VerifyDir(context.Background(), pub, dist)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"vigil-plugin-demo_1.2.3_linux_amd64.tar.gz", "vigil-plugin-demo_1.2.3_linux_arm64.tar.gz"},
		[]string{got[0].File, got[1].File}); diff != "" {
		t.Errorf("verified files (-want +got):\n%s", diff)
	}

	f, err := os.Open(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dest := t.TempDir()
	files, err := Unpack(context.Background(), f, dest, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"LICENSE", "README.md", "vigil-plugin-demo"}, files); diff != "" {
		t.Errorf("unpacked (-want +got):\n%s", diff)
	}
	if err := CheckContents("demo", files); err != nil {
		t.Error(err)
	}
	if fi, err := os.Stat(filepath.Join(dest, "vigil-plugin-demo")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("binary: %v, %v; want mode 0755", fi, err)
	}

	t.Run("wrong key", func(t *testing.T) {
		other, _, err := GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := VerifyDir(context.Background(), other, dist); !errors.Is(err, ErrSignature) {
			t.Errorf("err = %v, want ErrSignature", err)
		}
	})
	t.Run("tampered sums", func(t *testing.T) {
		d := copyDir(t, dist)
		// Point the sums at another archive: the signature must fail.
		swapped := strings.Replace(string(raw), sums[0].SHA256, hashA, 1)
		writeFile(t, d, SumsFile, swapped)
		if _, err := VerifyDir(context.Background(), pub, d); !errors.Is(err, ErrSignature) {
			t.Errorf("err = %v, want ErrSignature", err)
		}
		if err := Verify(pub, []byte(swapped), Sign(priv, raw)); !errors.Is(err, ErrSignature) {
			t.Errorf("Verify: err = %v, want ErrSignature", err)
		}
	})
	t.Run("tampered archive", func(t *testing.T) {
		d := copyDir(t, dist)
		p := filepath.Join(d, filepath.Base(paths[0]))
		b, _ := os.ReadFile(p)
		b[len(b)/2] ^= 1
		writeFile(t, d, filepath.Base(p), string(b))
		if _, err := VerifyDir(context.Background(), pub, d); !errors.Is(err, ErrChecksum) {
			t.Errorf("err = %v, want ErrChecksum", err)
		}
	})
	t.Run("truncated signature", func(t *testing.T) {
		if err := Verify(pub, raw, Sign(priv, raw)[:63]); !errors.Is(err, ErrSignature) {
			t.Errorf("err = %v, want ErrSignature", err)
		}
	})
	t.Run("not listed", func(t *testing.T) {
		p := writeFile(t, t.TempDir(), "extra.tar.gz", "x")
		if err := sums.CheckFile(p); !errors.Is(err, ErrNotListed) {
			t.Errorf("err = %v, want ErrNotListed", err)
		}
	})
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, dst, e.Name(), string(b))
	}
	return dst
}
