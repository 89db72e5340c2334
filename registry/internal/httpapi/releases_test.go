package httpapi

import (
	"crypto/sha256"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/registry/internal/store"
	"github.com/vigilmon/vigil/sdk/release"
)

func TestReleaseActions(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name   string
		from   store.State
		action string
		reason string
		code   int
		want   string // the new state, or the error message
	}{
		{"approve passed", store.Passed, "approve", "", 200, "approved"},
		{"reject passed", store.Passed, "reject", "crashes on arm64", 200, "rejected"},
		{"reject needs a reason", store.Passed, "reject", "", 400, `reject needs a reason: send {"reason": "..."}`},
		{"approve pending", store.Pending, "approve", "", 409, "cannot approve hello 1.0.3: it is pending, and pending → approved is not allowed"},
		{"approve failed", store.Failed, "approve", "", 409, "cannot approve hello 1.0.4: it is failed, and failed → approved is not allowed"},
		{"withdraw approved", store.Approved, "withdraw", "CVE", 200, "withdrawn"},
		{"withdraw passed", store.Passed, "withdraw", "CVE", 409, "cannot withdraw hello 1.0.6: it is passed, and passed → withdrawn is not allowed"},
		{"reinstate withdrawn", store.Withdrawn, "approve", "", 200, "approved"},
		{"abandon rejected", store.Rejected, "abandon", "typo", 200, "abandoned"},
		{"abandon abandoned", store.Abandoned, "abandon", "again", 409, "cannot abandon hello 1.0.9: it is abandoned, and abandoned → abandoned is not allowed"},
		{"unknown action", store.Passed, "promote", "", 404, `no release action "promote": want approve, reject, withdraw or abandon`},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			version := "1.0." + strconv.Itoa(i)
			f.release("hello", version, tt.from)
			code, b := f.doJSON("POST", "/v1/plugins/hello/releases/"+version+"/"+tt.action, "admin", ActionRequest{Reason: tt.reason})
			var got string
			if code < 300 {
				var rj ReleaseJSON
				f.mustJSONBody(b, &rj)
				got = string(rj.State)
				last := rj.History[len(rj.History)-1]
				if last.Reason != tt.reason || last.Actor != "admin:1" {
					t.Errorf("last transition = %+v", last)
				}
			} else {
				got = errorMessage(t, b)
			}
			if code != tt.code || got != tt.want {
				t.Errorf("got %d %q, want %d %q", code, got, tt.code, tt.want)
			}
		})
	}
	code, b := f.doJSON("POST", "/v1/plugins/hello/releases/9.9.9/approve", "admin", nil)
	if code != 404 || errorMessage(t, b) != `plugin "hello" has no release 9.9.9` {
		t.Errorf("missing release: %d %s", code, b)
	}
}

func TestDeleteRelease(t *testing.T) {
	f := newFixture(t)
	f.release("hello", "1.0.0", store.Approved)
	f.release("hello", "1.1.0", store.Approved)
	dir := filepath.Join(f.artifacts, "hello", "1.0.0")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("published release has no artifact directory: %v", err)
	}
	if code, b := f.do("DELETE", "/v1/plugins/hello/releases/1.0.0", "admin", nil, ""); code != http.StatusNoContent || len(b) != 0 {
		t.Fatalf("delete: %d %s", code, b)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("artifact directory after delete: %v", err)
	}
	if _, err := os.Stat(filepath.Join(f.artifacts, "hello", "1.1.0")); err != nil {
		t.Errorf("the other release's artifacts: %v", err)
	}
	for _, path := range []string{
		"/v1/plugins/hello/releases/1.0.0",
		"/v1/plugins/hello/versions/1.0.0/download/linux/amd64",
		"/v1/artifacts/hello/1.0.0/SHA256SUMS",
	} {
		if code, b := f.do("GET", path, "admin", nil, ""); code != http.StatusNotFound {
			t.Errorf("GET %s after delete: %d %s", path, code, b)
		}
	}
	code, b := f.do("DELETE", "/v1/plugins/hello/releases/1.0.0", "admin", nil, "")
	if code != http.StatusNotFound || errorMessage(t, b) != `plugin "hello" has no release 1.0.0` {
		t.Errorf("delete twice: %d %s", code, b)
	}
	// The version may be published again.
	f.release("hello", "1.0.0", store.Pending)
}

func TestVersionsOfferOnlyInstallableReleases(t *testing.T) {
	f := newFixture(t)
	for v, s := range map[string]store.State{
		"0.9.0": store.Approved, "1.0.0": store.Approved, "1.10.0": store.Approved, "1.10.0-rc.1": store.Approved,
		"1.1.0": store.Withdrawn, "1.2.0": store.Pending, "1.3.0": store.Failed, "1.4.0": store.Rejected,
		"1.5.0": store.Abandoned, "1.6.0": store.Passed, "1.7.0": store.Evaluating,
	} {
		f.release("hello", v, s)
	}
	versions := func(query string) []string {
		var got struct {
			Versions []VersionJSON `json:"versions"`
		}
		f.mustJSON("GET", "/v1/plugins/hello/versions"+query, "agent", nil, 200, &got)
		var out []string
		for _, v := range got.Versions {
			s := v.Version
			if v.Withdrawn {
				s += " (withdrawn)"
			}
			out = append(out, s)
		}
		return out
	}
	if diff := cmp.Diff([]string{"1.10.0", "1.10.0-rc.1", "1.0.0", "0.9.0"}, versions("")); diff != "" {
		t.Errorf("versions (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"1.10.0", "1.10.0-rc.1", "1.1.0 (withdrawn)", "1.0.0", "0.9.0"}, versions("?include=withdrawn")); diff != "" {
		t.Errorf("versions with withdrawn (-want +got):\n%s", diff)
	}

	tests := []struct {
		version, query, who string
		want                int
	}{
		{"1.0.0", "", "agent", 200},
		{"1.1.0", "", "agent", 404},
		{"1.1.0", "?allow_withdrawn=true", "agent", 200},
		{"1.2.0", "", "agent", 404},
		{"1.3.0", "", "agent", 404},
		{"1.4.0", "", "agent", 404},
		{"1.6.0", "", "acme", 404},
		{"1.5.0", "", "agent", 404},
		{"1.5.0", "", "acme", 404},
		{"1.5.0", "", "hello-key", 404},
		{"1.5.0", "", "admin", 200},
		{"1.0.0", "/../../../x", "agent", 404},
	}
	for _, tt := range tests {
		t.Run(tt.version+tt.query+" as "+tt.who, func(t *testing.T) {
			for _, path := range []string{
				"/v1/plugins/hello/versions/" + tt.version + "/download/linux/amd64" + tt.query,
				"/v1/artifacts/hello/" + tt.version + "/SHA256SUMS" + tt.query,
			} {
				code, b := f.do("GET", path, tt.who, nil, "")
				if code != tt.want {
					t.Errorf("GET %s: %d %s, want %d", path, code, b, tt.want)
				}
			}
		})
	}
	code, b := f.do("GET", "/v1/plugins/hello/versions/1.1.0/download/linux/amd64", "agent", nil, "")
	if code != 404 || errorMessage(t, b) != "hello 1.1.0 was withdrawn; add ?allow_withdrawn=true to download it anyway" {
		t.Errorf("withdrawn message: %d %s", code, b)
	}
}

func TestDownloadDescriptorAndArtifactBytes(t *testing.T) {
	f := newFixture(t)
	u := f.release("hello", "1.0.0", store.Approved)
	var d DownloadJSON
	f.mustJSON("GET", "/v1/plugins/hello/versions/1.0.0/download/linux/amd64", "agent", nil, 200, &d)
	name := release.ArchiveName("hello", "1.0.0", release.Platform{OS: "linux", Arch: "amd64"})
	archive := u.archives[name]
	want := DownloadJSON{
		Plugin: "hello", Version: "1.0.0", OS: "linux", Arch: "amd64", Filename: name,
		URL: "/v1/artifacts/hello/1.0.0/" + name, SHA256: sha256hex(archive), Size: int64(len(archive)),
		ShasumsURL: "/v1/artifacts/hello/1.0.0/SHA256SUMS", ShasumsSignatureURL: "/v1/artifacts/hello/1.0.0/SHA256SUMS.sig",
		KeyID: f.keyID, PublicKey: release.PrivateKey(f.key).Public().String(),
	}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("descriptor (-want +got):\n%s", diff)
	}
	for url, wantBytes := range map[string][]byte{d.URL: archive, d.ShasumsURL: u.sums, d.ShasumsSignatureURL: u.sig} {
		req, _ := http.NewRequest("GET", f.url+url, nil)
		req.Header.Set("Authorization", "Bearer "+f.tokens["agent"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || resp.ContentLength != int64(len(wantBytes)) || resp.Header.Get("Content-Type") != "application/octet-stream" {
			t.Errorf("GET %s: %d, length %d, type %q", url, resp.StatusCode, resp.ContentLength, resp.Header.Get("Content-Type"))
		}
		if sha256.Sum256(got) != sha256.Sum256(wantBytes) {
			t.Errorf("GET %s: bytes differ from what was published", url)
		}
	}
	if err := release.Verify(release.PrivateKey(f.key).Public(), u.sums, u.sig); err != nil {
		t.Fatal(err)
	}
	code, b := f.do("GET", "/v1/plugins/hello/versions/1.0.0/download/darwin/arm64", "agent", nil, "")
	if code != 404 || errorMessage(t, b) != "hello 1.0.0 has no archive for darwin/arm64; it has [linux/amd64]" {
		t.Errorf("missing platform: %d %s", code, b)
	}
	code, b = f.do("GET", "/v1/artifacts/hello/1.0.0/other.tar.gz", "agent", nil, "")
	if code != 404 {
		t.Errorf("unknown file: %d %s", code, b)
	}
}

func TestSearchPlugins(t *testing.T) {
	f := newFixture(t)
	f.release("hello", "1.0.0", store.Approved)
	f.release("hello", "1.2.0", store.Approved)
	f.release("hello", "2.0.0", store.Passed)
	var got struct {
		Plugins []PluginJSON `json:"plugins"`
	}
	f.mustJSON("GET", "/v1/plugins?q=HELLO", "agent", nil, 200, &got)
	want := []PluginJSON{{Name: "hello", Owner: "acme", Description: "says hello", Latest: "1.2.0"}}
	if diff := cmp.Diff(want, got.Plugins); diff != "" {
		t.Errorf("search (-want +got):\n%s", diff)
	}
	f.mustJSON("GET", "/v1/plugins", "agent", nil, 200, &got)
	if len(got.Plugins) != 2 {
		t.Errorf("all plugins: %+v", got.Plugins)
	}
}

func TestCompareSemver(t *testing.T) {
	ordered := []string{"0.0.1", "0.9.0", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.2.0", "1.10.0", "10.0.0"}
	for i := range ordered {
		for j := range ordered {
			want := compareInt(i, j)
			if got := compareSemver(ordered[i], ordered[j]); got != want {
				t.Errorf("compareSemver(%s, %s) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
	if compareSemver("1.0.0+build.1", "1.0.0") != 0 {
		t.Error("build metadata counted")
	}
}
