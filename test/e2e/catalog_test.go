package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/vigilmon/vigil/sdk/release"
)

// here is the platform the tests run on, the only one they package for.
var here = release.Platform{OS: runtime.GOOS, Arch: runtime.GOARCH}

// catalog is a fresh registry with a publisher "acme" whose signing key is
// registered, the plugin "hello" registered (pluginKey publishes it) and
// an agent token.
type catalog struct {
	reg        *registryServer
	work       string // the publisher's working directory
	pubToken   string
	pluginKey  string
	agentToken string
}

// newCatalog starts a registry and sets up acme and hello; keyFile is the
// publisher's private signing key.
func newCatalog(t *testing.T, keyFile string) *catalog {
	t.Helper()
	c := &catalog{reg: newRegistryServer(t), work: t.TempDir()}
	c.pubToken = secretIn(t, c.admin(t, "token", "create", "--role", "publisher", "--publisher", "acme", "--format", "json"))
	run(t, c.work, "vigil", "plugin", "key", "add", "acme", "--key", keyFile, "--registry", c.reg.url, "--token", c.pubToken)
	c.pluginKey = c.register(t, "hello")
	c.agentToken = secretIn(t, c.admin(t, "token", "create", "--role", "agent", "--node", "e2e", "--format", "json"))
	return c
}

// admin runs a vigil-registry command as the admin and returns its stdout.
func (c *catalog) admin(t *testing.T, args ...string) string {
	t.Helper()
	return run(t, c.work, "vigil-registry", append(args, "--registry", c.reg.url, "--token", c.reg.admin)...)
}

// register registers plugin name for acme and returns its plugin key.
func (c *catalog) register(t *testing.T, name string) string {
	t.Helper()
	return secretIn(t, run(t, c.work, "vigil", "plugin", "register", name, "--registry", c.reg.url, "--token", c.pubToken, "--format", "json"))
}

// publish runs `vigil plugin publish dist --wait` with the plugin key and
// keyFile; it returns stdout, stderr and the exit code.
func (c *catalog) publish(t *testing.T, dist, pluginKey, keyFile string) (string, string, int) {
	t.Helper()
	return runCode(t, c.work, "vigil", "plugin", "publish", dist, "--registry", c.reg.url, "--plugin-key", pluginKey,
		"--key", keyFile, "--wait", "--poll-interval", "50ms")
}

// publishPassed publishes dist, which must pass its evaluation.
func (c *catalog) publishPassed(t *testing.T, dist, keyFile string) {
	t.Helper()
	stdout, stderr, code := c.publish(t, dist, c.pluginKey, keyFile)
	if code != 0 || !strings.Contains(stdout, "passed") {
		t.Fatalf("publish: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// dataDir is the registry's --data directory.
func (c *catalog) dataDir(*testing.T) string { return c.reg.data }

// runCode runs a binary and returns stdout, stderr and its exit code.
func runCode(t *testing.T, dir, bin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bins.Path(t, bin), args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return stdout.String(), stderr.String(), 0
	case errors.As(err, &exit):
		return stdout.String(), stderr.String(), exit.ExitCode()
	}
	t.Fatalf("%s %s: %v", bin, strings.Join(args, " "), err)
	return "", "", 0
}

// helloBuild is examples/hello packaged by `vigil plugin package` as 0.1.0
// for this platform, and its binary, from which variants are repackaged.
type helloBuild struct {
	dist   string // the release as packaged: archive, SHA256SUMS, .sig
	binary string
}

// packageHello packages examples/hello into dir with the real CLI and
// unpacks its binary.
func packageHello(t *testing.T, dir, keyFile string) helloBuild {
	t.Helper()
	src, err := filepath.Abs("../../examples/hello")
	if err != nil {
		t.Fatal(err)
	}
	b := helloBuild{dist: filepath.Join(dir, "hello-0.1.0")}
	run(t, dir, "vigil", "plugin", "package", src, "--name", "hello", "--version", "0.1.0",
		"--key", keyFile, "--platform", here.String(), "--out", b.dist)
	unpacked := filepath.Join(dir, "hello-unpacked")
	if err := os.Mkdir(unpacked, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(b.dist, release.ArchiveName("hello", "0.1.0", here)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := release.Unpack(context.Background(), f, unpacked, release.Limits{}); err != nil {
		t.Fatal(err)
	}
	b.binary = filepath.Join(unpacked, release.BinaryName("hello"))
	return b
}

// entry is one member of a hand-made archive: a regular file with body,
// or, with link set, a symbolic link.
type entry struct {
	name, body, link string
}

// writeRelease writes a release of hello at version into a new directory
// under dir, as `vigil plugin package` lays it out: one archive holding
// the hello binary (as the real one does) plus extra entries, SHA256SUMS
// and its signature with the key in keyFile. It returns the directory.
func writeRelease(t *testing.T, dir string, b helloBuild, version, keyFile string, extra ...entry) string {
	t.Helper()
	priv, err := release.ReadPrivateKeyFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(b.binary)
	if err != nil {
		t.Fatal(err)
	}
	entries := append([]entry{{name: release.BinaryName("hello"), body: string(bin)}}, extra...)
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.NoCompression) // fast to write under -race; size does not matter here
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Mode: 0o755, Size: int64(len(e.body)), Typeflag: tar.TypeReg}
		if e.link != "" {
			hdr = &tar.Header{Name: e.name, Linkname: e.link, Mode: 0o777, Typeflag: tar.TypeSymlink}
		}
		if err := tw.WriteHeader(hdr); err != nil {
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
	out, err := os.MkdirTemp(dir, "hello-"+version+"-")
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(out, release.ArchiveName("hello", version, here))
	if err := os.WriteFile(archive, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	sums, err := release.SumFiles(archive)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sums.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{release.SumsFile: raw, release.SignatureFile: release.Sign(priv, raw)} {
		if err := os.WriteFile(filepath.Join(out, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// keygen makes a signing key in dir and returns its file and public key.
func keygen(t *testing.T, dir, name string) (string, string) {
	t.Helper()
	file := filepath.Join(dir, name)
	var key struct {
		PublicKey string `json:"public_key"`
	}
	if err := json.Unmarshal([]byte(run(t, dir, "vigil", "plugin", "keygen", "--out", file, "--format", "json")), &key); err != nil {
		t.Fatal(err)
	}
	return file, key.PublicKey
}

// nodeState is all that `vigil install` could change on a node: agent.hcl,
// the lock file, and every file and directory under the node's directory.
type nodeState struct {
	Config, Lock string
	Files        []string // relative paths, directories with a trailing "/"
}

func (a *agentDir) state() nodeState {
	a.t.Helper()
	conf, err := os.ReadFile(a.conf)
	if err != nil {
		a.t.Fatal(err)
	}
	lock, _ := os.ReadFile(a.path("vigil.lock.hcl"))
	st := nodeState{Config: string(conf), Lock: string(lock)}
	filepath.WalkDir(a.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == a.dir {
			return err
		}
		rel, _ := filepath.Rel(a.dir, p)
		if d.IsDir() {
			rel += "/"
		}
		st.Files = append(st.Files, filepath.ToSlash(rel))
		return nil
	})
	sort.Strings(st.Files)
	return st
}

// stallProxy forwards requests to a registry; once armed, it stops the
// body of the next download of one file halfway, until the client goes.
type stallProxy struct {
	*httptest.Server
	target string

	mu      sync.Mutex
	file    string        // the file name to stall; "" when disarmed
	stalled chan struct{} // closed when the stall begins
}

func newStallProxy(t *testing.T, target string) *stallProxy {
	p := &stallProxy{target: target}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.Close)
	return p
}

// arm makes the next download of file stall; the channel is closed when it
// does.
func (p *stallProxy) arm(file string) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.file, p.stalled = file, make(chan struct{})
	return p.stalled
}

func (p *stallProxy) serve(w http.ResponseWriter, r *http.Request) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.target+r.URL.RequestURI(), r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	p.mu.Lock()
	stall := p.file != "" && strings.HasSuffix(r.URL.Path, "/"+p.file)
	stalled := p.stalled
	if stall {
		p.file = ""
	}
	p.mu.Unlock()
	if !stall {
		io.Copy(w, resp.Body)
		return
	}
	io.CopyN(w, resp.Body, resp.ContentLength/2)
	w.(http.Flusher).Flush()
	close(stalled)
	<-r.Context().Done()
}
