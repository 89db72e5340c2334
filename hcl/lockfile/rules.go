package lockfile

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"strings"
)

var (
	nameRe     = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)
	semverRe   = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
	platformRe = regexp.MustCompile(`^[a-z0-9]+_[a-z0-9]+$`)
	hashRe     = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
)

// SourceLocal is the source of a plugin placed by hand or by make rather
// than downloaded from a registry.
const SourceLocal = "local"

// HashFile returns the "sha256:<hex>" hash of the file at path, the form
// the lock records.
func HashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hashing %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hashing %s: %w", path, err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// ValidHash reports whether s is "sha256:" followed by 64 lowercase hex
// digits.
func ValidHash(s string) bool { return hashRe.MatchString(s) }

// Each problem function returns "" for a good value, or what is wrong and
// how to fix it, shared by Parse's diagnostics and Entry.Validate.

func nameProblem(s string) string {
	if nameRe.MatchString(s) {
		return ""
	}
	return fmt.Sprintf("%q is not a plugin name: use lowercase letters, digits, \"_\" and \"-\", starting with a letter.", s)
}

func versionProblem(s string) string {
	if semverRe.MatchString(s) {
		return ""
	}
	return fmt.Sprintf("%q is not an exact version such as \"1.2.0\"; reinstall the plugin with vigil install.", s)
}

func platformProblem(s string) string {
	if platformRe.MatchString(s) {
		return ""
	}
	return fmt.Sprintf("%q is not a platform: write <os>_<arch>, such as \"linux_amd64\".", s)
}

func hashProblem(s string) string {
	if ValidHash(s) {
		return ""
	}
	return fmt.Sprintf("%q is not a hash: write \"sha256:\" followed by 64 lowercase hexadecimal digits, as vigil install records it.", s)
}

func sourceProblem(s string) string {
	if s == "" || s == SourceLocal {
		return ""
	}
	if u, err := url.Parse(s); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		return ""
	}
	return fmt.Sprintf("%q is not a source: write the registry's URL, such as \"https://registry.example.net\", or %q.", s, SourceLocal)
}

func signingKeyProblem(s string) string {
	if rest, ok := strings.CutPrefix(s, "ed25519:"); s == "" || (ok && rest != "") {
		return ""
	}
	return fmt.Sprintf("%q is not a signing key: keys are written \"ed25519:<key>\".", s)
}

// Validate reports what is wrong with e, every problem joined.
func (e Entry) Validate() error {
	var errs []error
	add := func(field, problem string) {
		if problem != "" {
			errs = append(errs, fmt.Errorf("plugin %q: %s: %s", e.Name, field, problem))
		}
	}
	add("name", nameProblem(e.Name))
	add("version", versionProblem(e.Version))
	add("source", sourceProblem(e.Source))
	add("signing_key", signingKeyProblem(e.SigningKey))
	for _, p := range sortedKeys(e.Platforms) {
		h := e.Platforms[p]
		add("platform", platformProblem(p))
		add(p+" binary", hashProblem(h.Binary))
		if h.Archive != "" {
			add(p+" archive", hashProblem(h.Archive))
		}
	}
	return errors.Join(errs...)
}
