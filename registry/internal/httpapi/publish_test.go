package httpapi

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vigilmon/vigil/registry/internal/store"
	"github.com/vigilmon/vigil/sdk/release"
)

func TestPublishStoresTheReleaseAndQueuesIt(t *testing.T) {
	f := newFixture(t)
	amd, arm := release.Platform{OS: "linux", Arch: "amd64"}, release.Platform{OS: "linux", Arch: "arm64"}
	u := f.makeRelease("hello", "1.2.0", amd, arm)
	code, b := f.publish("hello", "hello-key", u)
	if code != http.StatusAccepted {
		t.Fatalf("publish: %d %s", code, b)
	}
	var got PublishResponse
	f.mustJSONBody(b, &got)
	want := PublishResponse{Plugin: "hello", Version: "1.2.0", State: store.Pending, StatusURL: "/v1/plugins/hello/releases/1.2.0"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"hello 1.2.0"}, f.queue.got()); diff != "" {
		t.Errorf("queued (-want +got):\n%s", diff)
	}
	rel, err := f.st.Release(context.Background(), "hello", "1.2.0")
	if err != nil {
		t.Fatal(err)
	}
	var arts []store.Artifact
	for _, p := range []release.Platform{amd, arm} {
		name := release.ArchiveName("hello", "1.2.0", p)
		arts = append(arts, store.Artifact{OS: p.OS, Arch: p.Arch, Path: "hello/1.2.0/" + name, SHA256: sha256hex(u.archives[name]), Size: int64(len(u.archives[name]))})
	}
	if diff := cmp.Diff(arts, rel.Artifacts); diff != "" {
		t.Errorf("artifacts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(&store.Signature{SHA256Sums: u.sums, Signature: u.sig, KeyID: f.keyID}, rel.Signature); diff != "" {
		t.Errorf("signature (-want +got):\n%s", diff)
	}
	// The evaluator verifies the directory exactly as the author made it.
	if _, err := release.VerifyDir(context.Background(), release.PrivateKey(f.key).Public(), filepath.Join(f.artifacts, "hello", "1.2.0")); err != nil {
		t.Errorf("stored release does not verify: %v", err)
	}
	assertNoUploadsLeft(t, f)

	var rj ReleaseJSON
	f.mustJSON("GET", "/v1/plugins/hello/releases/1.2.0", "acme", nil, http.StatusOK, &rj)
	if diff := cmp.Diff([]string{"linux/amd64", "linux/arm64"}, rj.Platforms); diff != "" {
		t.Errorf("platforms (-want +got):\n%s", diff)
	}
	if rj.State != store.Pending || string(rj.Evaluation) != "null" || len(rj.History) != 1 || !strings.HasPrefix(rj.History[0].Actor, "plugin:") {
		t.Errorf("release = %+v", rj)
	}
}

func (f *fixture) mustJSONBody(b []byte, out any) {
	f.t.Helper()
	if err := jsonUnmarshal(b, out); err != nil {
		f.t.Fatalf("decoding %s: %v", b, err)
	}
}

func assertNoUploadsLeft(t *testing.T, f *fixture) {
	t.Helper()
	left, err := os.ReadDir(filepath.Join(f.artifacts, ".uploads"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("upload directory not cleaned: %v", left)
	}
}

func TestPublishRefusals(t *testing.T) {
	f := newFixture(t)
	_, otherPriv, err := release.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	worldArchive := f.makeRelease("world", "1.0.0").archives
	tests := []struct {
		name   string
		tamper func(u *upload)
		code   int
		msg    string // contained in the error
	}{
		{"bad signature", func(u *upload) { u.sig = release.Sign(otherPriv, u.sums) }, 400, "signature does not verify"},
		{"signature of other bytes", func(u *upload) {
			u.sums = append(u.sums, []byte("0000000000000000000000000000000000000000000000000000000000000000  x.tar.gz\n")...)
		}, 400, "signature does not verify"},
		{"archive not in SHA256SUMS", func(u *upload) {
			sums := release.Sums{{File: "vigil-plugin-hello_1.0.0_linux_arm64.tar.gz", SHA256: strings.Repeat("a", 64)}}
			u.sums, _ = sums.Marshal()
			u.sig = release.Sign(f.key, u.sums)
			u.archives["vigil-plugin-hello_1.0.0_linux_arm64.tar.gz"] = []byte("x")
		}, 400, "vigil-plugin-hello_1.0.0_linux_amd64.tar.gz is not listed in SHA256SUMS"},
		{"archive changed after signing", func(u *upload) {
			for k := range u.archives {
				u.archives[k] = append(u.archives[k], 0)
			}
		}, 400, "but SHA256SUMS says"},
		{"listed archive missing", func(u *upload) { u.archives = map[string][]byte{} }, 400, "no archive parts"},
		{"archive of another plugin", func(u *upload) {
			for k, v := range worldArchive {
				u.archives[k] = v
			}
		}, 400, `is for plugin "world", not "hello"`},
		{"version mismatch in file name", func(u *upload) { u.version = "1.0.1" }, 400, "is for version 1.0.0, but the version field says 1.0.1"},
		{"bad version", func(u *upload) { u.version = "v1" }, 400, `invalid version "v1"`},
		{"bad archive name", func(u *upload) { u.archives["../../etc/passwd"] = []byte("x") }, 400, "invalid archive name"},
		{"unknown key", func(u *upload) { u.keyID = "0123456789abcdef" }, 400, "key 0123456789abcdef is not a signing key of publisher \"acme\""},
		{"no key id", func(u *upload) { u.omit = map[string]bool{"key_id": true} }, 400, "key_id is required"},
		{"no signature", func(u *upload) { u.omit = map[string]bool{release.SignatureFile: true} }, 400, "are both required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := f.makeRelease("hello", "1.0.0")
			tt.tamper(&u)
			code, b := f.publish("hello", "hello-key", u)
			if code != tt.code || !strings.Contains(errorMessage(t, b), tt.msg) {
				t.Errorf("got %d %s, want %d containing %q", code, b, tt.code, tt.msg)
			}
			if _, err := os.Stat(filepath.Join(f.artifacts, "hello", "1.0.0")); !os.IsNotExist(err) {
				t.Errorf("refused release left files: %v", err)
			}
			assertNoUploadsLeft(t, f)
		})
	}
	if got := f.queue.got(); len(got) != 0 {
		t.Errorf("refused releases were queued: %v", got)
	}
	rels, err := f.st.ListReleases(context.Background(), store.ReleaseQuery{})
	if err != nil || len(rels) != 0 {
		t.Errorf("refused releases were recorded: %v %v", rels, err)
	}
}

func TestPublishNotMultipart(t *testing.T) {
	f := newFixture(t)
	code, b := f.do("POST", "/v1/plugins/hello/releases", "hello-key", strings.NewReader("{}"), "application/json")
	if code != 400 || !strings.Contains(errorMessage(t, b), "multipart/form-data") {
		t.Errorf("got %d %s", code, b)
	}
}

func TestPublishTwiceIsAConflict(t *testing.T) {
	f := newFixture(t)
	f.release("hello", "1.0.0", store.Pending)
	code, b := f.publish("hello", "hello-key", f.makeRelease("hello", "1.0.0"))
	if code != http.StatusConflict || !strings.Contains(errorMessage(t, b), "already published") {
		t.Errorf("got %d %s", code, b)
	}
}

func TestPublishBodyTooLarge(t *testing.T) {
	f := newFixtureWith(t, 4096)
	u := f.makeRelease("hello", "1.0.0")
	for k := range u.archives {
		u.archives[k] = bytes.Repeat([]byte("x"), 8192)
	}
	code, b := f.publish("hello", "hello-key", u)
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(errorMessage(t, b), "larger than 4096 bytes") {
		t.Errorf("got %d %s", code, b)
	}
	assertNoUploadsLeft(t, f)
}

func TestJSONBodyTooLarge(t *testing.T) {
	f := newFixture(t)
	big := `{"role":"agent","node":"` + strings.Repeat("x", MaxJSONBody) + `"}`
	code, b := f.do("POST", "/v1/tokens", "admin", strings.NewReader(big), "application/json")
	if code != http.StatusRequestEntityTooLarge {
		t.Errorf("got %d %s", code, b)
	}
}

// FuzzReadPublishForm feeds arbitrary multipart bodies to the upload
// decoder: it must never panic, and never write outside its directory.
func FuzzReadPublishForm(f *testing.F) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.SetBoundary("BOUNDARY")
	w, _ := mw.CreateFormField("version")
	w.Write([]byte("1.0.0"))
	w, _ = mw.CreateFormFile("archive", "vigil-plugin-hello_1.0.0_linux_amd64.tar.gz")
	w.Write([]byte("data"))
	w, _ = mw.CreateFormFile("SHA256SUMS", "SHA256SUMS")
	w.Write([]byte("x"))
	mw.Close()
	f.Add(buf.Bytes())
	f.Add([]byte("--BOUNDARY\r\nContent-Disposition: form-data; name=\"archive\"; filename=\"../x\"\r\n\r\nx\r\n--BOUNDARY--\r\n"))
	f.Add([]byte("--BOUNDARY\r\nContent-Disposition: form-data; name=\"key_id\"\r\n\r\nabc\r\n--BOUNDARY--\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		dir := t.TempDir()
		form, err := ReadPublishForm(multipart.NewReader(bytes.NewReader(body), "BOUNDARY"), dir)
		if err != nil {
			return
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		if diff := cmp.Diff(sortedKeys(form.Archives), names, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("files written (-archives +dir):\n%s", diff)
		}
		_ = form.Check("hello", nil)
	})
}
