package command

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vigilmon/vigil/sdk/release"
)

// TestPluginPackage packages the counter test plugin for linux/amd64 and
// checks the result with sdk/release as the registry and installer will.
func TestPluginPackage(t *testing.T) {
	pub, priv, err := release.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(t.TempDir(), "signing.key")
	if err := release.WritePrivateKeyFile(key, priv, false); err != nil {
		t.Fatal(err)
	}
	dist := filepath.Join(t.TempDir(), "dist")
	r := vigil("plugin", "package", "../../../test/plugins/counter", "--version", "1.0.0", "--key", key,
		"--platform", "linux/amd64", "--out", dist, "--format", "json")
	if r.code != ExitOK {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	var res packageResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("%v:\n%s", err, r.stdout)
	}

	sums, err := release.VerifyDir(context.Background(), pub, dist)
	if err != nil {
		t.Fatal(err)
	}
	const archive = "vigil-plugin-counter_1.0.0_linux_amd64.tar.gz"
	if diff := cmp.Diff(release.Sums{{File: archive, SHA256: res.Files[0].SHA256}}, sums); diff != "" {
		t.Errorf("SHA256SUMS against the report (-want +got):\n%s", diff)
	}
	var names []string
	for _, f := range res.Files {
		names = append(names, f.File)
		fi, err := os.Stat(filepath.Join(dist, f.File))
		if err != nil || fi.Size() != f.Size {
			t.Errorf("%s: reported size %d, on disk %v, %v", f.File, f.Size, fi, err)
		}
	}
	if diff := cmp.Diff([]string{archive, release.SumsFile, release.SignatureFile}, names); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]any{"counter", "1.0.0", pub.String(), release.KeyID(pub), dist, "linux/amd64"},
		[]any{res.Name, res.Version, res.PublicKey, res.KeyID, res.Dir, res.Files[0].Platform}); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}

	f, err := os.Open(filepath.Join(dist, archive))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dest := t.TempDir()
	files, err := release.Unpack(context.Background(), f, dest, release.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if err := release.CheckContents("counter", files); err != nil {
		t.Error(err)
	}
	bin := filepath.Join(dest, "vigil-plugin-counter")
	fi, err := os.Stat(bin)
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("binary: %v, %v; want mode 0755", fi, err)
	}
	head := make([]byte, 4)
	if b, err := os.ReadFile(bin); err != nil || !bytes.HasPrefix(b, []byte("\x7fELF")) {
		copy(head, b)
		t.Errorf("binary starts with %q (%v), want an ELF header", head, err)
	}

	t.Run("human", func(t *testing.T) {
		// Same inputs again, printed for a person: the archive is byte for byte the same.
		r := vigil("plugin", "package", "../../../test/plugins/counter", "--version", "1.0.0", "--key", key,
			"--platform", "linux/amd64", "--out", dist)
		if r.code != ExitOK {
			t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
		}
		if !strings.HasPrefix(r.stdout, "Packaged counter 1.0.0 into "+dist+", signed with key "+release.KeyID(pub)+":\n") {
			t.Errorf("stdout:\n%s", r.stdout)
		}
		if !strings.Contains(r.stdout, archive) || !strings.Contains(r.stdout, "sha256:"+res.Files[0].SHA256) {
			t.Errorf("stdout lacks the archive with its unchanged hash %s:\n%s", res.Files[0].SHA256, r.stdout)
		}
	})
}

func TestPluginPackageUsage(t *testing.T) {
	_, priv, err := release.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(t.TempDir(), "signing.key")
	if err := release.WritePrivateKeyFile(key, priv, false); err != nil {
		t.Fatal(err)
	}
	const dir = "../../../test/plugins/counter"
	tests := map[string]struct {
		args   []string
		stderr string
	}{
		"no dir":       {[]string{"--version", "1.0.0", "--key", key}, "exactly one plugin directory"},
		"two dirs":     {[]string{dir, dir, "--version", "1.0.0", "--key", key}, "exactly one plugin directory"},
		"no version":   {[]string{dir, "--key", key}, "--version is required"},
		"bad version":  {[]string{dir, "--version", "v1", "--key", key}, `invalid version "v1"`},
		"no key":       {[]string{dir, "--version", "1.0.0"}, "--key is required"},
		"missing key":  {[]string{dir, "--version", "1.0.0", "--key", key + ".missing"}, "reading private key"},
		"bad platform": {[]string{dir, "--version", "1.0.0", "--key", key, "--platform", "linux"}, `invalid platform "linux"`},
		"bad name":     {[]string{dir, "--version", "1.0.0", "--key", key, "--name", "Counter"}, `invalid plugin name "Counter"`},
		"bad format":   {[]string{dir, "--version", "1.0.0", "--key", key, "--format", "xml"}, "--format must be"},
		"bad flag":     {[]string{dir, "--bogus"}, "unknown flag: --bogus"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := vigil(append([]string{"plugin", "package"}, tc.args...)...)
			if r.code != ExitUsage || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, ExitUsage, tc.stderr)
			}
		})
	}
}

func TestPluginPackageNotMain(t *testing.T) {
	_, priv, err := release.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(t.TempDir(), "signing.key")
	if err := release.WritePrivateKeyFile(key, priv, false); err != nil {
		t.Fatal(err)
	}
	dist := filepath.Join(t.TempDir(), "dist")
	// The release package itself is a library, not a plugin.
	r := vigil("plugin", "package", "../../../sdk/release", "--version", "1.0.0", "--key", key, "--out", dist)
	if r.code != ExitFailure || !strings.Contains(r.stderr, "not a main package") {
		t.Errorf("exit %d, stderr %q; want %d and \"not a main package\"", r.code, r.stderr, ExitFailure)
	}
	if _, err := os.Stat(dist); !os.IsNotExist(err) {
		t.Errorf("dist was created: %v", err)
	}
}
