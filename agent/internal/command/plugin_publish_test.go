package command

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/agent/internal/registryclient"
	"github.com/vigilmon/vigil/sdk/release"
)

// testDist writes a release directory as plugin package does: archives
// (their contents do not matter to publish) with SHA256SUMS over them and
// its signature with a new key, whose file it returns with the directory.
func testDist(t *testing.T, archives ...string) (dist, keyFile string, pub release.PublicKey) {
	t.Helper()
	pub, priv, err := release.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	keyFile = filepath.Join(t.TempDir(), "signing.key")
	if err := release.WritePrivateKeyFile(keyFile, priv, false); err != nil {
		t.Fatal(err)
	}
	dist = t.TempDir()
	var paths []string
	for _, a := range archives {
		p := filepath.Join(dist, a)
		if err := os.WriteFile(p, []byte("archive "+a), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	sums, err := release.SumFiles(paths...)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sums.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dist, release.SumsFile), string(raw))
	writeFile(t, filepath.Join(dist, release.SignatureFile), string(release.Sign(priv, raw)))
	return dist, keyFile, pub
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

const (
	amd64Archive = "vigil-plugin-hello_1.0.0_linux_amd64.tar.gz"
	arm64Archive = "vigil-plugin-hello_1.0.0_linux_arm64.tar.gz"
)

var testReport = &registryclient.Report{Passed: true, Checks: []registryclient.Check{
	{Name: "unpack linux/amd64", Passed: true, Detail: "1 file", DurationMS: 12.5},
	{Name: "handshake linux/amd64", Passed: true, Detail: "protocol 1", DurationMS: 1500},
}}

var failedReport = &registryclient.Report{Passed: false, Checks: []registryclient.Check{
	{Name: "unpack linux/amd64", Passed: true, Detail: "1 file", DurationMS: 3},
	{Name: "manifest linux/amd64", Passed: false, Detail: "manifest says version 0.9.0,\nthe release is 1.0.0", DurationMS: 0.25},
}}

func TestPluginPublish(t *testing.T) {
	dist, key, pub := testDist(t, amd64Archive, arm64Archive)
	for _, tc := range []struct {
		name   string
		states []string
		report *registryclient.Report
		inline bool
		extra  []string
		code   int
		stdout string
		stderr string
	}{
		{
			name: "passed", states: []string{"pending", "evaluating", "evaluating", "passed"}, report: testReport, inline: true,
			extra: []string{"--wait"}, code: ExitOK,
			stdout: "Verified hello 1.0.0 (linux/amd64, linux/arm64), signed with key " + release.KeyID(pub) + ".\n" +
				"Uploaded hello 1.0.0: pending.\n" +
				"Waiting for the evaluation (up to 5m0s)...\n" +
				"  pending\n  evaluating\n  passed\n" +
				"Evaluation of hello 1.0.0: passed\n\n" +
				"CHECK                  RESULT  DURATION  DETAIL\n" +
				"unpack linux/amd64     pass    12.5ms    1 file\n" +
				"handshake linux/amd64  pass    1.5s      protocol 1\n" +
				"\nThe release now waits for the registry's admin to approve it.\n",
		},
		{
			name: "failed, report read separately", states: []string{"evaluating", "failed"}, report: failedReport,
			extra: []string{"--wait"}, code: ExitFailure,
			stdout: "Verified hello 1.0.0 (linux/amd64, linux/arm64), signed with key " + release.KeyID(pub) + ".\n" +
				"Uploaded hello 1.0.0: pending.\n" +
				"Waiting for the evaluation (up to 5m0s)...\n" +
				"  evaluating\n  failed\n" +
				"Evaluation of hello 1.0.0: failed\n\n" +
				"CHECK                 RESULT  DURATION  DETAIL\n" +
				"unpack linux/amd64    pass    3ms       1 file\n" +
				"manifest linux/amd64  FAIL    300µs     manifest says version 0.9.0, the release is 1.0.0\n",
			stderr: "vigil plugin publish: hello 1.0.0 failed its evaluation; fix what failed, then package and publish a new version\n",
		},
		{
			name: "no wait", states: []string{"pending"}, code: ExitOK,
			stdout: "Verified hello 1.0.0 (linux/amd64, linux/arm64), signed with key " + release.KeyID(pub) + ".\n" +
				"Uploaded hello 1.0.0: pending.\n" +
				"The registry is evaluating it; its status: REGISTRY/v1/plugins/hello/releases/1.0.0\n",
		},
		{
			name: "timeout", states: []string{"pending", "evaluating"}, extra: []string{"--wait", "--timeout", "50ms"}, code: ExitFailure,
			stdout: "Verified hello 1.0.0 (linux/amd64, linux/arm64), signed with key " + release.KeyID(pub) + ".\n" +
				"Uploaded hello 1.0.0: pending.\n" +
				"Waiting for the evaluation (up to 50ms)...\n" +
				"  pending\n  evaluating\n",
			stderr: "vigil plugin publish: the evaluation did not finish within 50ms; it goes on at the registry (/v1/plugins/hello/releases/1.0.0)\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := newFakeRegistry(t)
			reg.states, reg.report, reg.inline = tc.states, tc.report, tc.inline
			args := append([]string{"plugin", "publish", dist, "--registry", reg.URL, "--plugin-key", testPluginKey,
				"--key", key, "--poll-interval", "1ms"}, tc.extra...)
			r := vigil(args...)
			want := result{code: tc.code, stdout: strings.ReplaceAll(tc.stdout, "REGISTRY", reg.URL), stderr: tc.stderr}
			if d := cmp.Diff(want, r, cmp.AllowUnexported(result{})); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			sums, _ := os.ReadFile(filepath.Join(dist, release.SumsFile))
			sig, _ := os.ReadFile(filepath.Join(dist, release.SignatureFile))
			wantUp := []upload{{Plugin: "hello", Version: "1.0.0", KeyID: release.KeyID(pub), Files: map[string]string{
				"SHA256SUMS SHA256SUMS":         string(sums),
				"SHA256SUMS.sig SHA256SUMS.sig": string(sig),
				"archive " + amd64Archive:       "archive " + amd64Archive,
				"archive " + arm64Archive:       "archive " + arm64Archive,
			}}}
			if d := cmp.Diff(wantUp, reg.uploads); d != "" {
				t.Errorf("upload (-want +got):\n%s", d)
			}
		})
	}
}

func TestPluginPublishJSON(t *testing.T) {
	dist, _, pub := testDist(t, amd64Archive)
	reg := newFakeRegistry(t)
	reg.states, reg.report, reg.inline = []string{"passed"}, testReport, true
	r := vigil("plugin", "publish", dist, "--registry", reg.URL, "--plugin-key", testPluginKey,
		"--public-key", pub.String(), "--wait", "--format", "json")
	if r.code != ExitOK || r.stderr != "" {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	var got publishResult
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("%v:\n%s", err, r.stdout)
	}
	want := publishResult{Plugin: "hello", Version: "1.0.0", KeyID: release.KeyID(pub), Platforms: []string{"linux/amd64"},
		State: "passed", StatusURL: "/v1/plugins/hello/releases/1.0.0", Evaluation: testReport}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// Mistakes found before anything is uploaded.
func TestPluginPublishRefuses(t *testing.T) {
	good, key, _ := testDist(t, amd64Archive)
	mixed, mixedKey, _ := testDist(t, amd64Archive, "vigil-plugin-hello_1.0.1_linux_arm64.tar.gz")
	unlisted, unlistedKey, _ := testDist(t, amd64Archive)
	writeFile(t, filepath.Join(unlisted, arm64Archive), "late")
	tampered, tamperedKey, _ := testDist(t, amd64Archive)
	writeFile(t, filepath.Join(tampered, amd64Archive), "changed")
	_, otherKey, _ := testDist(t, amd64Archive)
	empty, emptyKey := t.TempDir(), key
	pub, _, err := release.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}

	reg := newFakeRegistry(t)
	reg.states = []string{"pending"}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string // the start of stderr after "vigil plugin publish: "
	}{
		{"no dist", []string{"--key", key}, ExitUsage, "give exactly one release directory"},
		{"no plugin key", []string{good, "--key", key, "--plugin-key", ""}, ExitUsage, "--plugin-key is required"},
		{"no key", []string{good}, ExitUsage, "give one of --key or --public-key"},
		{"both keys", []string{good, "--key", key, "--public-key", pub.String()}, ExitUsage, "give one of --key or --public-key"},
		{"bad public key", []string{good, "--public-key", "rsa:x"}, ExitUsage, "--public-key: "},
		{"bad timeout", []string{good, "--key", key, "--timeout", "0s"}, ExitUsage, "--timeout must be positive"},
		{"other signer", []string{good, "--key", otherKey}, ExitFailure, "verifying release: verifying SHA256SUMS with key"},
		{"mixed versions", []string{mixed, "--key", mixedKey}, ExitFailure,
			"vigil-plugin-hello_1.0.1_linux_arm64.tar.gz is hello 1.0.1, but " + amd64Archive + " is hello 1.0.0: publish one release at a time"},
		{"unlisted archive", []string{unlisted, "--key", unlistedKey}, ExitFailure,
			arm64Archive + " is not listed in SHA256SUMS; package the release again"},
		{"tampered archive", []string{tampered, "--key", tamperedKey}, ExitFailure, "verifying release: "},
		{"no archives", []string{empty, "--key", emptyKey}, ExitFailure, empty + " holds no release archive"},
		{"missing dir", []string{filepath.Join(empty, "nope"), "--key", emptyKey}, ExitFailure, "reading the release directory: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"plugin", "publish", "--registry", reg.URL, "--plugin-key", testPluginKey}, tc.args...)
			r := vigil(args...)
			if r.code != tc.code || !strings.HasPrefix(r.stderr, "vigil plugin publish: "+tc.stderr) || r.stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, stderr starting %q",
					r.code, r.stdout, r.stderr, tc.code, tc.stderr)
			}
		})
	}
	if len(reg.uploads) != 0 {
		t.Errorf("uploaded %d releases, want none", len(reg.uploads))
	}
}
