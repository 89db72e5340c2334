package release

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// File names of a release's checksum list and its signature.
const (
	SumsFile      = "SHA256SUMS"
	SignatureFile = "SHA256SUMS.sig"
)

// MaxSumsSize is the largest SHA256SUMS file ParseSums accepts; callers
// reading one from the network should stop reading there.
const MaxSumsSize = 1 << 20

var (
	// ErrSignature means a SHA256SUMS signature does not verify with the
	// given public key: the file was changed or signed by another key.
	ErrSignature = errors.New("signature does not verify")
	// ErrChecksum means a file's sha256 differs from its SHA256SUMS line.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrNotListed means a file has no line in SHA256SUMS.
	ErrNotListed = errors.New("not listed in " + SumsFile)
)

var sumFileRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,254}$`)

// Sum is one line of SHA256SUMS.
type Sum struct {
	File   string // a base name, no directories
	SHA256 string // 64 lowercase hex digits
}

// Sums is the content of a SHA256SUMS file. Its text form is one line
// "<sha256 hex>  <file>\n" per file, sorted by file name, the same as
// `sha256sum` prints, so `sha256sum -c SHA256SUMS` checks a release too.
type Sums []Sum

// ParseSums parses a SHA256SUMS file strictly: every line exactly as
// Marshal writes it, file names plain base names, sorted and unique.
func ParseSums(b []byte) (Sums, error) {
	if len(b) > MaxSumsSize {
		return nil, fmt.Errorf("parsing %s: larger than %d bytes", SumsFile, MaxSumsSize)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("parsing %s: empty", SumsFile)
	}
	if b[len(b)-1] != '\n' {
		return nil, fmt.Errorf("parsing %s: no newline at the end", SumsFile)
	}
	lines := strings.Split(string(b[:len(b)-1]), "\n")
	s := make(Sums, 0, len(lines))
	for i, line := range lines {
		h, file, ok := strings.Cut(line, "  ")
		if !ok {
			return nil, fmt.Errorf("parsing %s line %d: want \"<sha256>  <file>\"", SumsFile, i+1)
		}
		sum := Sum{File: file, SHA256: h}
		if err := sum.valid(); err != nil {
			return nil, fmt.Errorf("parsing %s line %d: %w", SumsFile, i+1, err)
		}
		if i > 0 && file <= s[i-1].File {
			return nil, fmt.Errorf("parsing %s line %d: %q is out of order or repeated", SumsFile, i+1, file)
		}
		s = append(s, sum)
	}
	return s, nil
}

func (s Sum) valid() error {
	if len(s.SHA256) != 2*sha256.Size || strings.ToLower(s.SHA256) != s.SHA256 {
		return fmt.Errorf("sha256 of %q must be 64 lowercase hex digits", s.File)
	}
	if _, err := hex.DecodeString(s.SHA256); err != nil {
		return fmt.Errorf("sha256 of %q must be 64 lowercase hex digits", s.File)
	}
	if !sumFileRe.MatchString(s.File) {
		return fmt.Errorf("invalid file name %q: want letters, digits, '.', '_', '+' or '-' only", s.File)
	}
	return nil
}

// Marshal returns the SHA256SUMS text of s, sorted by file name. It fails
// on an invalid line or a file listed twice.
func (s Sums) Marshal() ([]byte, error) {
	sorted := append(Sums(nil), s...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].File < sorted[j].File })
	if len(sorted) == 0 {
		return nil, fmt.Errorf("writing %s: no files", SumsFile)
	}
	var b bytes.Buffer
	for i, sum := range sorted {
		if err := sum.valid(); err != nil {
			return nil, fmt.Errorf("writing %s: %w", SumsFile, err)
		}
		if i > 0 && sum.File == sorted[i-1].File {
			return nil, fmt.Errorf("writing %s: %q listed twice", SumsFile, sum.File)
		}
		fmt.Fprintf(&b, "%s  %s\n", sum.SHA256, sum.File)
	}
	return b.Bytes(), nil
}

// Lookup returns the sha256 listed for file.
func (s Sums) Lookup(file string) (string, bool) {
	for _, sum := range s {
		if sum.File == file {
			return sum.SHA256, true
		}
	}
	return "", false
}

// HashFile returns the sha256 of the file at path in lowercase hex.
func HashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hashing file: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hashing %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// SumFiles hashes the files at paths into Sums, each under its base name.
func SumFiles(paths ...string) (Sums, error) {
	s := make(Sums, 0, len(paths))
	for _, p := range paths {
		h, err := HashFile(p)
		if err != nil {
			return nil, err
		}
		s = append(s, Sum{File: filepath.Base(p), SHA256: h})
	}
	return s, nil
}

// CheckFile checks the file at path against its line in s, found by the
// path's base name. It returns ErrNotListed or ErrChecksum on a mismatch.
func (s Sums) CheckFile(path string) error {
	name := filepath.Base(path)
	want, ok := s.Lookup(name)
	if !ok {
		return fmt.Errorf("checking %s: %w", name, ErrNotListed)
	}
	got, err := HashFile(path)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("checking %s: %w: sha256 is %s, %s lists %s", name, ErrChecksum, got, SumsFile, want)
	}
	return nil
}

// Sign returns the ed25519 signature of the exact SHA256SUMS bytes: the
// content of SHA256SUMS.sig (64 raw bytes).
func Sign(priv PrivateKey, sums []byte) []byte {
	return ed25519.Sign(ed25519.PrivateKey(priv), sums)
}

// Verify checks sig over the exact SHA256SUMS bytes with pub. It returns an
// error wrapping ErrSignature when the signature does not verify.
func Verify(pub PublicKey, sums, sig []byte) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("verifying %s: public key is %d bytes, want %d", SumsFile, len(pub), ed25519.PublicKeySize)
	}
	if len(sig) != ed25519.SignatureSize || !ed25519.Verify(ed25519.PublicKey(pub), sums, sig) {
		return fmt.Errorf("verifying %s with key %s: %w", SumsFile, KeyID(pub), ErrSignature)
	}
	return nil
}

// VerifyDir verifies a release directory such as `vigil plugin package`
// writes: the signature of SHA256SUMS with pub, then every file it lists.
// Files present but not listed are ignored.
func VerifyDir(ctx context.Context, pub PublicKey, dir string) (Sums, error) {
	raw, err := readLimited(filepath.Join(dir, SumsFile), MaxSumsSize)
	if err != nil {
		return nil, fmt.Errorf("verifying release: %w", err)
	}
	sig, err := readLimited(filepath.Join(dir, SignatureFile), ed25519.SignatureSize)
	if err != nil {
		return nil, fmt.Errorf("verifying release: %w", err)
	}
	if err := Verify(pub, raw, sig); err != nil {
		return nil, fmt.Errorf("verifying release: %w", err)
	}
	sums, err := ParseSums(raw)
	if err != nil {
		return nil, fmt.Errorf("verifying release: %w", err)
	}
	for _, s := range sums {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("verifying release: interrupted: %w", err)
		}
		if err := sums.CheckFile(filepath.Join(dir, s.File)); err != nil {
			return nil, fmt.Errorf("verifying release: %w", err)
		}
	}
	return sums, nil
}

// readLimited reads the file at path, failing if it is larger than max.
func readLimited(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("reading %s: larger than %d bytes", path, max)
	}
	return b, nil
}
