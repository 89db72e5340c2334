package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/sdk/release"
)

// TestRefusals drives every refusal of the supply chain through the real
// `vigil` and `vigil-registry` binaries over HTTP, and checks the message
// a person sees and that a refused install leaves the node as it was:
// agent.hcl and the lock file byte-identical, no new file or directory
// (no version directory, no temporary leftovers).
//
// examples/hello is packaged once, as 0.1.0; the bad releases are that
// binary repackaged. Each group runs against its own registry, in
// parallel with the others.
func TestRefusals(t *testing.T) {
	work := t.TempDir()
	keyFile, pub := keygen(t, work, "signing.key")
	hello := packageHello(t, work, keyFile)
	archive := release.ArchiveName("hello", "0.1.0", here)

	t.Run("publishing", func(t *testing.T) {
		t.Parallel()
		c := newCatalog(t, keyFile)
		t.Run("signed with a key the registry does not know", func(t *testing.T) {
			strayKey, _ := keygen(t, t.TempDir(), "stray.key")
			dist := writeRelease(t, t.TempDir(), hello, "0.1.0", strayKey)
			stdout, stderr, code := c.publish(t, dist, c.pluginKey, strayKey)
			want := "vigil plugin publish: publishing hello 0.1.0: POST /v1/plugins/hello/releases: 400: key " + keyID(t, strayKey) +
				" is not a signing key of publisher \"acme\"; the publisher registers it with: vigil plugin key add <publisher> --key <private key file>\n"
			exitWith(t, code, 1, stderr, want)
			if strings.Contains(stdout, "Uploaded") {
				t.Errorf("the release was uploaded:\n%s", stdout)
			}
		})
		t.Run("the key of another plugin", func(t *testing.T) {
			otherKey := c.register(t, "other")
			_, stderr, code := c.publish(t, hello.dist, otherKey, keyFile)
			exitWith(t, code, 1, stderr, "vigil plugin publish: publishing hello 0.1.0: POST /v1/plugins/hello/releases: 403: "+
				"forbidden for this plugin key of \"other\": only the plugin key of \"hello\" may publish its releases\n")
		})
		for _, tc := range []struct {
			name, version string
			extra         []entry
			check, detail string
		}{
			{"a manifest that lies about its version", "0.2.0", nil,
				"manifest", "the plugin's manifest says hello 0.1.0, but this is the release of hello 0.2.0"},
			{"an archive with ../", "0.3.0", []entry{{name: "../evil", body: "gotcha"}},
				"unpack " + here.String(), `entry "../evil": unsafe path`},
			{"an archive with an escaping symlink", "0.4.0", []entry{{name: "evil", link: "../../../etc/passwd"}},
				"unpack " + here.String(), `entry "evil": links are not allowed`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				dist := writeRelease(t, t.TempDir(), hello, tc.version, keyFile, tc.extra...)
				stdout, stderr, code := c.publish(t, dist, c.pluginKey, keyFile)
				exitWith(t, code, 1, stderr, "vigil plugin publish: hello "+tc.version+
					" failed its evaluation; fix what failed, then package and publish a new version\n")
				failing := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(tc.check) + ` +FAIL +\S+ +(.*)$`).FindStringSubmatch(stdout)
				if failing == nil || !strings.Contains(failing[1], tc.detail) {
					t.Errorf("the report shows no failing %q check saying %q:\n%s", tc.check, tc.detail, stdout)
				}
				if n := strings.Count(stdout, " FAIL "); n != 1 {
					t.Errorf("%d failing checks, want 1:\n%s", n, stdout)
				}
			})
		}
		t.Run("a failed release cannot be approved", func(t *testing.T) {
			_, stderr, code := runCode(t, c.work, "vigil-registry", "approve", "hello", "0.2.0", "--registry", c.reg.url, "--token", c.reg.admin)
			exitWith(t, code, 1, stderr, "approve hello 0.2.0: registry: cannot approve hello 0.2.0: it is failed, "+
				"and failed → approved is not allowed (HTTP 409)\n")
			node := newNode(t, c.reg.url, c.agentToken, "")
			refused(t, node, "vigil install: hello: hello has no installable versions\n", "hello")
		})
	})

	t.Run("passed, then approved", func(t *testing.T) {
		t.Parallel()
		c := newCatalog(t, keyFile)
		c.publishPassed(t, hello.dist, keyFile)
		proxy := newStallProxy(t, c.reg.url)
		node := newNode(t, proxy.URL, c.agentToken, "")
		t.Run("not approved yet", func(t *testing.T) {
			refused(t, node, "vigil install: hello: hello has no installable versions\n", "hello", "0.1.0")
		})
		c.admin(t, "approve", "hello", "0.1.0")
		t.Run("signed with another key than agent.hcl pins", func(t *testing.T) {
			_, pinned := keygen(t, t.TempDir(), "pinned.key")
			pinning := newNode(t, c.reg.url, c.agentToken, fmt.Sprintf("  signing_keys = [%q]\n", pinned))
			refused(t, pinning, fmt.Sprintf("vigil install: hello: hello 0.1.0 is signed with %s (%s): signing key is not trusted; "+
				"add it to signing_keys in the registry block if you trust its publisher\n", pub, keyID(t, keyFile)), "hello", "0.1.0")
		})
		t.Run("interrupted", func(t *testing.T) {
			before := node.state()
			// Ctrl-C while the archive downloads: the install stops and
			// cleans up after itself.
			stdout, stderr := interruptInstall(t, node, proxy, archive, os.Interrupt)
			if stdout != "" || stderr != "vigil install: hello: install interrupted\n" {
				t.Errorf("after SIGINT: stdout %q, stderr %q", stdout, stderr)
			}
			if d := cmp.Diff(before, node.state()); d != "" {
				t.Errorf("SIGINT left the node changed (-before +after):\n%s", d)
			}
			// Killed outright, it cannot: its locked temporary directory
			// stays, and nothing else changes.
			interruptInstall(t, node, proxy, archive, os.Kill)
			after := node.state()
			var left []string
			for _, f := range after.Files {
				if !strings.HasPrefix(f, "data/.vigil-install-") {
					left = append(left, f)
				}
			}
			if d := cmp.Diff(before, nodeState{Config: after.Config, Lock: after.Lock, Files: left}); d != "" {
				t.Errorf("SIGKILL changed more than the temporary directory (-before +after):\n%s", d)
			}
			if len(left) == len(after.Files) {
				t.Errorf("SIGKILL mid-download left no temporary directory: %v", after.Files)
			}
			// The next install succeeds and sweeps the leftovers.
			out, err := node.vigil("install", "--config", node.conf, "hello", "0.1.0")
			if err != nil || !strings.Contains(out, "Installed hello 0.1.0 from "+proxy.URL) {
				t.Fatalf("install after the interruptions (%v):\n%s", err, out)
			}
			// hello's promise check needs a path: its block is written
			// commented out, and the summary says what to set.
			for _, want := range []string{"+  #     path     = null\n", "+  # promise \"hello-fresh\" {\n",
				"Enabled for hello: collector files.\n",
				"Set in the config of plugin \"hello\", before the agent can run it: paths.\n",
				"Commented out in agent.hcl until configured: promise hello-fresh (set path).\n"} {
				if !strings.Contains(out, want) {
					t.Errorf("install printed no %q:\n%s", want, out)
				}
			}
			for _, f := range node.state().Files {
				if strings.Contains(f, ".vigil-install-") || strings.Contains(f, ".install-") || strings.HasSuffix(f, ".tmp") {
					t.Errorf("left behind: %s", f)
				}
			}
			if _, err := os.Stat(node.path("data/plugins/hello/0.1.0/vigil-plugin-hello")); err != nil {
				t.Errorf("hello is not installed: %v", err)
			}
		})
	})

	t.Run("rejected", func(t *testing.T) {
		t.Parallel()
		c := newCatalog(t, keyFile)
		c.publishPassed(t, hello.dist, keyFile)
		c.admin(t, "reject", "hello", "0.1.0", "--reason", "reads files it should not")
		node := newNode(t, c.reg.url, c.agentToken, "")
		refused(t, node, "vigil install: hello: hello has no installable versions\n", "hello", "0.1.0")
		refused(t, node, "vigil install: hello: hello has no installable versions\n", "hello")
	})

	t.Run("withdrawn, then abandoned", func(t *testing.T) {
		t.Parallel()
		c := newCatalog(t, keyFile)
		c.publishPassed(t, hello.dist, keyFile)
		c.admin(t, "approve", "hello", "0.1.0")
		c.admin(t, "withdraw", "hello", "0.1.0", "--reason", "crashes on arm64")
		node := newNode(t, c.reg.url, c.agentToken, "")
		// Not offered: by default, nor by constraint, nor by exact version
		// without the flag.
		refused(t, node, "vigil install: hello: hello has no installable versions\n", "hello")
		refused(t, node, "vigil install: hello: hello has no installable versions\n", "hello", "~> 0.1")
		refused(t, node, "vigil install: hello: hello 0.1.0 was withdrawn from the registry; "+
			"to install it anyway, ask for exactly this version with --allow-withdrawn\n", "hello", "0.1.0")
		refused(t, node, "vigil install: --allow-withdrawn needs the exact version to install, such as 1.2.0, not \"~> 0.1\"\n",
			"hello", "~> 0.1", "--allow-withdrawn")
		// Offered by exact version with the flag.
		other := newNode(t, c.reg.url, c.agentToken, "")
		out, err := other.vigil("install", "--config", other.conf, "hello", "0.1.0", "--allow-withdrawn")
		if err != nil || !strings.Contains(out, "Warning: hello 0.1.0 was withdrawn from the registry") {
			t.Errorf("install --allow-withdrawn (%v):\n%s", err, out)
		}
		if !strings.Contains(other.state().Lock, `plugin "hello"`) {
			t.Errorf("the lock file does not record hello:\n%s", other.state().Lock)
		}
		// Abandoned, it is hidden: the same answer as for a version that
		// never existed, even with the flag.
		c.admin(t, "abandon", "hello", "0.1.0", "--reason", "published by mistake")
		never := "vigil install: hello: hello has no installable versions\n"
		refused(t, node, never, "hello", "9.9.9")
		refused(t, node, never, "hello", "0.1.0")
		refused(t, node, never, "hello", "0.1.0", "--allow-withdrawn")
	})

	t.Run("tampered archive", func(t *testing.T) {
		t.Parallel()
		c := newCatalog(t, keyFile)
		c.publishPassed(t, hello.dist, keyFile)
		c.admin(t, "approve", "hello", "0.1.0")
		stored := findFile(t, c.dataDir(t), archive)
		b, err := os.ReadFile(stored)
		if err != nil {
			t.Fatal(err)
		}
		want := sha256.Sum256(b)
		b[len(b)/2] ^= 0x01
		if err := os.WriteFile(stored, b, 0o644); err != nil {
			t.Fatal(err)
		}
		got := sha256.Sum256(b)
		node := newNode(t, c.reg.url, c.agentToken, "")
		refused(t, node, fmt.Sprintf("vigil install: hello: hello 0.1.0: downloaded %s has sha256 %s, the signed SHA256SUMS says %s: checksum mismatch\n",
			archive, hex.EncodeToString(got[:]), hex.EncodeToString(want[:])), "hello", "0.1.0")
	})
}

// nodeConfig is agent.hcl of a node of these tests: url, token and extra
// lines of the registry block.
const nodeConfig = `# A node of the refusal tests; install must keep this comment.
agent {
  node     = "e2e"
  data_dir = "data" # relative to this file
}

# Where plugins come from.
registry {
  url   = %q
  token = %q
%s}

output "file" { path = "points.lp" }
`

// newNode is a node whose agent.hcl points at url with token (plus extra
// lines in the registry block), and whose lock file already records the
// counter plugin, installed from a file.
func newNode(t *testing.T, url, token, extra string) *agentDir {
	t.Helper()
	return newAgentDir(t, fmt.Sprintf(nodeConfig, url, token, extra), "counter")
}

// refused runs `vigil install args...` on node: it must exit 1 (2 for a
// usage error) printing nothing on stdout and exactly wantStderr, and
// leave the node as it was.
func refused(t *testing.T, node *agentDir, wantStderr string, args ...string) {
	t.Helper()
	before := node.state()
	stdout, stderr, err := node.vigilSplit(append([]string{"install", "--config", node.conf}, args...)...)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || (exit.ExitCode() != 1 && exit.ExitCode() != 2) {
		t.Errorf("vigil install %s: %v, want exit 1 or 2\nstdout:\n%s", strings.Join(args, " "), err, stdout)
	}
	if stdout != "" {
		t.Errorf("vigil install %s printed on stdout:\n%s", strings.Join(args, " "), stdout)
	}
	if d := cmp.Diff(wantStderr, stderr); d != "" {
		t.Errorf("vigil install %s: stderr (-want +got):\n%s", strings.Join(args, " "), d)
	}
	if d := cmp.Diff(before, node.state()); d != "" {
		t.Errorf("vigil install %s changed the node (-before +after):\n%s", strings.Join(args, " "), d)
	}
}

// exitWith checks a command's exit code and its whole stderr.
func exitWith(t *testing.T, code, wantCode int, stderr, wantStderr string) {
	t.Helper()
	if code != wantCode {
		t.Errorf("exit %d, want %d", code, wantCode)
	}
	if d := cmp.Diff(wantStderr, stderr); d != "" {
		t.Errorf("stderr (-want +got):\n%s", d)
	}
}

// interruptInstall starts `vigil install hello 0.1.0` on node through
// proxy, sends sig once the archive's download has stalled halfway, and
// returns what the process printed.
func interruptInstall(t *testing.T, node *agentDir, proxy *stallProxy, archive string, sig os.Signal) (string, string) {
	t.Helper()
	stalled := proxy.arm(archive)
	cmd := exec.Command(bins.Path(t, "vigil"), "install", "--config", node.conf, "hello", "0.1.0")
	cmd.Dir = node.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-stalled:
	case err := <-exited:
		t.Fatalf("vigil install ended before the download stalled (%v):\n%s%s", err, stdout.String(), stderr.String())
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		<-exited
		t.Fatalf("the download did not start within a minute:\n%s%s", stdout.String(), stderr.String())
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-exited:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-exited
		t.Fatalf("vigil install ignored %v for 30 s:\n%s%s", sig, stdout.String(), stderr.String())
	}
	var exit *exec.ExitError
	switch {
	case sig == os.Kill && (!errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL):
		t.Errorf("after SIGKILL: %v", err)
	case sig != os.Kill && (!errors.As(err, &exit) || exit.ExitCode() != 1):
		t.Errorf("after %v: %v, want exit 1", sig, err)
	}
	return stdout.String(), stderr.String()
}

// findFile returns the path of the file called name under dir.
func findFile(t *testing.T, dir, name string) string {
	t.Helper()
	var found string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == name {
			found = p
		}
		return nil
	})
	if found == "" {
		t.Fatalf("no %s under %s", name, dir)
	}
	return found
}

// keyID is the id of the public half of the private key in keyFile.
func keyID(t *testing.T, keyFile string) string {
	t.Helper()
	priv, err := release.ReadPrivateKeyFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return release.KeyID(priv.Public())
}
