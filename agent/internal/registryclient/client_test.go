package registryclient_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/agent/internal/registryclient"
	"github.com/vigilmon/vigil/agent/internal/registryclient/registrytest"
	"github.com/vigilmon/vigil/sdk/release"
)

var linux = release.Platform{OS: "linux", Arch: "amd64"}

// fakeBinary is any file: the client does not look inside archives.
func fakeBinary(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "bin")
	if err := os.WriteFile(p, []byte("#!/bin/sh\necho not a plugin\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func newServer(t *testing.T) (*registrytest.Server, *registryclient.Client, registrytest.Release) {
	t.Helper()
	srv := registrytest.New(t)
	srv.Token = "vgr_test"
	bin := fakeBinary(t)
	r := registrytest.Build(t, bin, "hello", "1.2.0", linux, nil)
	old := registrytest.Build(t, bin, "hello", "1.1.0", linux, nil)
	gone := registrytest.Build(t, bin, "hello", "1.0.0", linux, nil)
	gone.Withdrawn = true
	srv.Add(old, r, gone)
	c, err := registryclient.New(srv.URL+"/", "vgr_test", nil)
	if err != nil {
		t.Fatal(err)
	}
	return srv, c, r
}

func TestNew(t *testing.T) {
	for _, bad := range []string{"", "registry.example.net", "ftp://x", "http://"} {
		if _, err := registryclient.New(bad, "", nil); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
	c, err := registryclient.New("https://r.example.net/prefix/", "", nil)
	if err != nil || c.URL() != "https://r.example.net/prefix" {
		t.Errorf("URL() = %q, %v", c.URL(), err)
	}
}

func TestInstallCalls(t *testing.T) {
	_, c, rel := newServer(t)
	ctx := context.Background()

	found, err := c.Search(ctx, "hel")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]registryclient.PluginSummary{{Name: "hello", Owner: "acme", Description: "the hello plugin", Latest: "1.2.0"}}, found); d != "" {
		t.Errorf("Search (-want +got):\n%s", d)
	}

	vs, err := c.Versions(ctx, "hello", false)
	if err != nil {
		t.Fatal(err)
	}
	wantVs := []registryclient.Version{
		{Version: "1.2.0", Platforms: []string{"linux/amd64"}, ProtocolVersions: []int{1}},
		{Version: "1.1.0", Platforms: []string{"linux/amd64"}, ProtocolVersions: []int{1}},
	}
	if d := cmp.Diff(wantVs, vs); d != "" {
		t.Errorf("Versions (-want +got):\n%s", d)
	}
	vs, err = c.Versions(ctx, "hello", true)
	if err != nil || len(vs) != 3 || !vs[2].Withdrawn {
		t.Errorf("Versions with withdrawn = %+v, %v", vs, err)
	}

	d, err := c.Download(ctx, "hello", "1.2.0", "linux", "amd64", false)
	if err != nil {
		t.Fatal(err)
	}
	file := release.ArchiveName("hello", "1.2.0", linux)
	archive := rel.Archives[file]
	base := "/v1/artifacts/hello/1.2.0/"
	sums, _ := release.ParseSums(rel.Sums)
	sha, _ := sums.Lookup(file)
	want := registryclient.Download{
		Plugin: "hello", Version: "1.2.0", OS: "linux", Arch: "amd64", Filename: file, URL: base + file,
		SHA256: sha, Size: int64(len(archive)), ShasumsURL: base + "SHA256SUMS", ShasumsSignatureURL: base + "SHA256SUMS.sig",
		KeyID: release.KeyID(rel.PublicKey), PublicKey: rel.PublicKey.String(),
	}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("Download (-want +got):\n%s", diff)
	}

	var buf bytes.Buffer
	var last, total int64
	n, err := c.Fetch(ctx, d.URL, &buf, 0, func(done, tot int64) { last, total = done, tot })
	if err != nil || n != int64(len(archive)) || !bytes.Equal(buf.Bytes(), archive) {
		t.Errorf("Fetch = %d, %v; same bytes: %v", n, err, bytes.Equal(buf.Bytes(), archive))
	}
	if last != n || total != n {
		t.Errorf("progress ended at %d of %d, want %d", last, total, n)
	}
	if _, err := c.Fetch(ctx, d.URL, &bytes.Buffer{}, 10, nil); err == nil || !strings.Contains(err.Error(), "more than the 10 allowed") {
		t.Errorf("Fetch over the limit: %v", err)
	}
	if _, err := c.Fetch(ctx, "https://elsewhere.example.net/x", &bytes.Buffer{}, 0, nil); err == nil {
		t.Error("Fetch followed an absolute URL off the registry")
	}
}

func TestErrors(t *testing.T) {
	srv, c, _ := newServer(t)
	ctx := context.Background()
	_, err := c.Versions(ctx, "nosuch", false)
	var e *registryclient.Error
	if !errors.As(err, &e) || !registryclient.IsNotFound(err) {
		t.Fatalf("got %v, want a 404 *Error", err)
	}
	want := &registryclient.Error{StatusCode: 404, Message: `no plugin "nosuch"`, Method: "GET", Path: "/v1/plugins/nosuch/versions"}
	if d := cmp.Diff(want, e); d != "" {
		t.Errorf("error (-want +got):\n%s", d)
	}
	if got := err.Error(); got != `listing versions of nosuch: GET /v1/plugins/nosuch/versions: 404: no plugin "nosuch"` {
		t.Errorf("message %q", got)
	}
	anon, _ := registryclient.New(srv.URL, "", nil)
	_, err = anon.Search(ctx, "")
	if !errors.As(err, &e) || e.StatusCode != http.StatusUnauthorized || e.Message != "missing or unknown token" {
		t.Errorf("no token: %v", err)
	}
	_, err = c.Download(ctx, "hello", "1.0.0", "linux", "amd64", false)
	if !registryclient.IsNotFound(err) {
		t.Errorf("withdrawn download: %v", err)
	}
	if _, err := c.Download(ctx, "hello", "1.0.0", "linux", "amd64", true); err != nil {
		t.Errorf("withdrawn download allowed: %v", err)
	}
	_, err = c.RegisterPlugin(ctx, registryclient.NewPlugin{Name: "Bad Name"})
	if !errors.As(err, &e) || e.StatusCode != 400 || !cmp.Equal(e.Details, []string{"name: must be a valid plugin name"}) {
		t.Errorf("bad register: %v", err)
	}
}

func TestInterruptedFetch(t *testing.T) {
	srv, c, _ := newServer(t)
	file := release.ArchiveName("hello", "1.2.0", linux)
	stalled := srv.Stall(file)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-stalled
		cancel()
	}()
	_, err := c.Fetch(ctx, "/v1/artifacts/hello/1.2.0/"+file, &bytes.Buffer{}, 0, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

func TestPublishCalls(t *testing.T) {
	srv, c, _ := newServer(t)
	ctx := context.Background()
	reg, err := c.RegisterPlugin(ctx, registryclient.NewPlugin{Name: "fresh", Description: "new", SourceURL: "https://src"})
	if err != nil {
		t.Fatal(err)
	}
	wantReg := registryclient.Registration{
		Plugin:    registryclient.Plugin{Name: "fresh", Owner: "acme", Description: "new", SourceURL: "https://src", Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		PluginKey: "vgr_plugin_fresh",
	}
	if d := cmp.Diff(wantReg, reg); d != "" {
		t.Errorf("RegisterPlugin (-want +got):\n%s", d)
	}
	if _, err := c.RegisterPlugin(ctx, registryclient.NewPlugin{Name: "fresh"}); err == nil || !strings.Contains(err.Error(), `409: plugin "fresh" already exists`) {
		t.Errorf("second register: %v", err)
	}

	dir := t.TempDir()
	write := func(name string, size int) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, bytes.Repeat([]byte("x"), size), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pub := registryclient.Publication{
		Plugin: "fresh", Version: "0.1.0", KeyID: "0123456789abcdef",
		Sums: write("SHA256SUMS", 100), Signature: write("SHA256SUMS.sig", 64),
		Archives: []string{write("vigil-plugin-fresh_0.1.0_linux_amd64.tar.gz", 3<<20), write("vigil-plugin-fresh_0.1.0_linux_arm64.tar.gz", 10)},
	}
	got, err := c.Publish(ctx, pub)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(registryclient.Published{Plugin: "fresh", Version: "0.1.0", State: "pending", StatusURL: "/v1/plugins/fresh/releases/0.1.0"}, got); d != "" {
		t.Errorf("Publish (-want +got):\n%s", d)
	}
	wantParts := map[string][]string{
		"version": {"0.1.0"}, "key_id": {"0123456789abcdef"},
		"SHA256SUMS": {"SHA256SUMS (100 bytes)"}, "SHA256SUMS.sig": {"SHA256SUMS.sig (64 bytes)"},
		"archive": {"vigil-plugin-fresh_0.1.0_linux_amd64.tar.gz (3145728 bytes)", "vigil-plugin-fresh_0.1.0_linux_arm64.tar.gz (10 bytes)"},
	}
	if d := cmp.Diff(wantParts, srv.Published("fresh", "0.1.0")); d != "" {
		t.Errorf("parts received (-want +got):\n%s", d)
	}
	pub.Archives = append(pub.Archives, filepath.Join(dir, "missing.tar.gz"))
	if _, err := c.Publish(ctx, pub); err == nil || !strings.Contains(err.Error(), "missing.tar.gz") {
		t.Errorf("missing file: %v", err)
	}

	rel, err := c.Release(ctx, "hello", "1.2.0")
	if err != nil {
		t.Fatal(err)
	}
	if rel.State != "approved" || rel.ProtocolVersion != 1 || len(rel.History) != 1 || rel.Evaluation == nil || !rel.Evaluation.Passed {
		t.Errorf("Release = %+v", rel)
	}
	rep, err := c.Evaluation(ctx, "hello", "1.2.0")
	if err != nil {
		t.Fatal(err)
	}
	wantRep := registryclient.Report{
		Passed: true, Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Finished: time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC),
		Checks: []registryclient.Check{{Name: "unpack linux/amd64", Passed: true, Detail: "3 files", DurationMS: 12.5}},
	}
	if d := cmp.Diff(wantRep, rep); d != "" {
		t.Errorf("Evaluation (-want +got):\n%s", d)
	}
	if _, err := c.Evaluation(ctx, "hello", "9.9.9"); !registryclient.IsNotFound(err) {
		t.Errorf("unknown release: %v", err)
	}
}
