package evaluate

import (
	"archive/tar"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/sdk/release"
)

// archiveOK is the passing checks of one archive.
func archiveOK(plugin, version string, p release.Platform) []string {
	f := release.ArchiveName(plugin, version, p)
	return []string{"checksum " + f + ": ok", "name " + f + ": ok", "unpack " + p.String() + ": ok", "contents " + p.String() + ": ok"}
}

func concat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestEvaluate(t *testing.T) {
	launched := []string{"launch " + hostPlat.String() + ": ok"}
	counterHost := release.ArchiveName("counter", "0.1.0", hostPlat)
	tests := map[string]struct {
		in func(t *testing.T) Input
		// want is every check; detail is a piece of the last one's detail.
		want   []string
		detail string
	}{
		"happy path": {
			in: func(t *testing.T) Input {
				return newRelease(t, "counter", "0.1.0").add(t, "counter", "counter", "0.1.0", hostPlat).add(t, "fake", "counter", "0.1.0", otherPlat).sign(t)
			},
			want: concat([]string{"signature: ok"}, archiveOK("counter", "0.1.0", otherPlat), archiveOK("counter", "0.1.0", hostPlat),
				launched, []string{"manifest: ok", "collector seq: ok"}),
			detail: "collected 3 points",
		},
		"wrong key": {
			in: func(t *testing.T) Input {
				in := newRelease(t, "counter", "0.1.0").add(t, "counter", "counter", "0.1.0", hostPlat).sign(t)
				in.PublicKey = newRelease(t, "counter", "0.1.0").in.PublicKey
				return in
			},
			want:   []string{"signature: FAIL"},
			detail: "signature does not verify",
		},
		"no SHA256SUMS": {
			in: func(t *testing.T) Input {
				return newRelease(t, "counter", "0.1.0").add(t, "counter", "counter", "0.1.0", hostPlat).in
			},
			want:   []string{"signature: FAIL"},
			detail: "the release has no SHA256SUMS",
		},
		"tampered archive": {
			in: func(t *testing.T) Input {
				in := newRelease(t, "counter", "0.1.0").add(t, "counter", "counter", "0.1.0", hostPlat).sign(t)
				f, err := os.OpenFile(filepath.Join(in.Dir, counterHost), os.O_APPEND|os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				f.Write([]byte{0})
				f.Close()
				return in
			},
			want:   []string{"signature: ok", "checksum " + counterHost + ": FAIL"},
			detail: "checksum mismatch",
		},
		"archive of another plugin": {
			in: func(t *testing.T) Input {
				return newRelease(t, "counter", "0.1.0").add(t, "fake", "other", "0.1.0", hostPlat).sign(t)
			},
			want: []string{"signature: ok", "checksum " + release.ArchiveName("other", "0.1.0", hostPlat) + ": ok",
				"name " + release.ArchiveName("other", "0.1.0", hostPlat) + ": FAIL"},
			detail: `is for plugin "other", but this is a release of "counter"`,
		},
		"manifest lies about its version": {
			in: func(t *testing.T) Input {
				return newRelease(t, "counter", "9.9.9").add(t, "counter", "counter", "9.9.9", hostPlat).sign(t)
			},
			want:   concat([]string{"signature: ok"}, archiveOK("counter", "9.9.9", hostPlat), launched, []string{"manifest: FAIL"}),
			detail: "the plugin's manifest says counter 0.1.0, but this is the release of counter 9.9.9",
		},
		"no archive for the evaluator's platform": {
			in: func(t *testing.T) Input {
				return newRelease(t, "counter", "0.1.0").add(t, "fake", "counter", "0.1.0", otherPlat).sign(t)
			},
			want:   concat([]string{"signature: ok"}, archiveOK("counter", "0.1.0", otherPlat), []string{"platform " + hostPlat.String() + ": FAIL"}),
			detail: "no archive for " + hostPlat.String() + ", the evaluator's platform",
		},
	}
	evil := map[string]struct {
		hdr   tar.Header
		entry string
	}{
		"dotdot":           {tar.Header{Typeflag: tar.TypeReg, Name: "../evil", Mode: 0o644}, `entry "../evil": unsafe path`},
		"absolute path":    {tar.Header{Typeflag: tar.TypeReg, Name: "/etc/evil", Mode: 0o644}, `entry "/etc/evil": unsafe path`},
		"escaping symlink": {tar.Header{Typeflag: tar.TypeSymlink, Name: "evil", Linkname: "../../../etc/passwd"}, `entry "evil": links are not allowed`},
	}
	for name, e := range evil {
		tests["archive with "+name] = struct {
			in     func(t *testing.T) Input
			want   []string
			detail string
		}{
			in: func(t *testing.T) Input { return newRelease(t, "counter", "0.1.0").addRaw(t, e.hdr).sign(t) },
			want: []string{"signature: ok", "checksum " + counterHost + ": ok", "name " + counterHost + ": ok",
				"unpack " + hostPlat.String() + ": FAIL"},
			detail: e.entry,
		}
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			work := t.TempDir()
			rep := New(Config{WorkDir: work}).Evaluate(context.Background(), tc.in(t))
			if diff := cmp.Diff(tc.want, outcomes(rep)); diff != "" {
				t.Fatalf("checks (-want +got):\n%s\n%+v", diff, rep.Checks)
			}
			last := rep.Checks[len(rep.Checks)-1]
			if !strings.Contains(last.Detail, tc.detail) {
				t.Errorf("detail of %q = %q, want it to contain %q", last.Name, last.Detail, tc.detail)
			}
			if want := !strings.HasSuffix(tc.want[len(tc.want)-1], "FAIL"); rep.Passed != want {
				t.Errorf("Passed = %v, want %v", rep.Passed, want)
			}
			if rep.Started.IsZero() || rep.Finished.Before(rep.Started) {
				t.Errorf("Started %v, Finished %v", rep.Started, rep.Finished)
			}
			if left := leftovers(t, work); left != nil {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}

func TestEvaluateReportFields(t *testing.T) {
	in := newRelease(t, "counter", "0.1.0").add(t, "counter", "counter", "0.1.0", hostPlat).add(t, "fake", "counter", "0.1.0", otherPlat).sign(t)
	rep := New(Config{WorkDir: t.TempDir()}).Evaluate(context.Background(), in)
	if !rep.Passed {
		t.Fatalf("failed: %+v", rep.Checks)
	}
	var got struct {
		Platforms       []string        `json:"platforms"`
		ProtocolVersion int             `json:"protocol_version"`
		Manifest        json.RawMessage `json:"manifest"`
	}
	b, _ := json.Marshal(rep)
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := []string{otherPlat.String(), hostPlat.String()}
	if hostPlat.String() < otherPlat.String() {
		want[0], want[1] = want[1], want[0]
	}
	if diff := cmp.Diff(want, got.Platforms); diff != "" {
		t.Errorf("platforms (-want +got):\n%s", diff)
	}
	if got.ProtocolVersion != 1 {
		t.Errorf("protocol_version = %d, want 1", got.ProtocolVersion)
	}
	var m manifestJSON
	if err := json.Unmarshal(got.Manifest, &m); err != nil {
		t.Fatal(err)
	}
	m.SDKVersion = ""
	wantM := manifestJSON{
		Name: "counter", Version: "0.1.0", ProtocolVersion: 1, Description: "emits a counted number of points",
		Collectors: []methodJSON{{Name: "seq", Schema: []attributeJSON{
			{Name: "points", Type: "number", Description: "points per call", Default: 3.0},
			{Name: "series", Type: "number", Description: "distinct series", Default: 1.0},
		}}},
		Promises: []methodJSON{},
	}
	if diff := cmp.Diff(wantM, m); diff != "" {
		t.Errorf("manifest (-want +got):\n%s", diff)
	}
}

// TestEvaluateMethods classifies each kind of method outcome.
func TestEvaluateMethods(t *testing.T) {
	in := newRelease(t, "probe", "1.0.0").add(t, "probe", "probe", "1.0.0", hostPlat).sign(t)
	work := t.TempDir()
	rep := New(Config{WorkDir: work}).Evaluate(context.Background(), in)
	got := map[string]string{}
	for _, c := range rep.Checks[len(archiveOK("", "", hostPlat))+3:] {
		mark := "ok"
		if !c.Passed {
			mark = "FAIL"
		}
		got[c.Name] = mark + ": " + c.Detail
	}
	want := map[string]string{
		"collector works":       "ok: configured with {}; collected 1 points",
		"collector errors":      "FAIL: collect on plugin probe: rpc error: code = Unknown desc = disk on fire",
		"collector bad_default": `FAIL: configuring with the schema's defaults {"n":-1} failed: n: Invalid value: n must be positive`,
		"promise critical":      `ok: configured with {}; answered CRITICAL "down"`,
		"promise check_error":   `ok: configured with {}; answered UNKNOWN "cannot tell"`,
		"promise needs_path":    "ok: not exercised: requires path",
	}
	for name, w := range want {
		if !strings.HasPrefix(got[name], w) {
			t.Errorf("%s = %q, want it to start with %q", name, got[name], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("method checks %v, want %d", got, len(want))
	}
	if rep.Passed {
		t.Error("Passed = true with failing methods")
	}
	if left := leftovers(t, work); left != nil {
		t.Errorf("left behind: %v", left)
	}
}

// TestEvaluateHangingPlugin: a collector that never returns fails its
// check at the method timeout, and the evaluation ends and cleans up.
func TestEvaluateHangingPlugin(t *testing.T) {
	in := newRelease(t, "hang", "0.1.0").add(t, "hang", "hang", "0.1.0", hostPlat).sign(t)
	work := t.TempDir()
	const methodTimeout = 300 * time.Millisecond
	rep := New(Config{WorkDir: work, MethodTimeout: methodTimeout, Timeout: time.Hour}).Evaluate(context.Background(), in)
	last := rep.Checks[len(rep.Checks)-1]
	want := Check{Name: "collector stuck", Detail: "collect did not answer within 300ms, the method timeout"}
	if diff := cmp.Diff(want, last, cmpIgnoreDuration); diff != "" {
		t.Errorf("last check (-want +got):\n%s", diff)
	}
	if last.DurationMS < float64(methodTimeout.Milliseconds()) {
		t.Errorf("check took %vms, less than the method timeout", last.DurationMS)
	}
	if left := leftovers(t, work); left != nil {
		t.Errorf("left behind: %v", left)
	}
}

var cmpIgnoreDuration = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".DurationMS" }, cmp.Ignore())

func TestEvaluateCanceled(t *testing.T) {
	in := newRelease(t, "counter", "0.1.0").add(t, "counter", "counter", "0.1.0", hostPlat).sign(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	work := t.TempDir()
	rep := New(Config{WorkDir: work}).Evaluate(ctx, in)
	want := []string{"signature: ok", "checksum " + release.ArchiveName("counter", "0.1.0", hostPlat) + ": FAIL"}
	if diff := cmp.Diff(want, outcomes(rep)); diff != "" {
		t.Errorf("checks (-want +got):\n%s", diff)
	}
	if d := rep.Checks[len(rep.Checks)-1].Detail; !strings.Contains(d, "the evaluation was interrupted") {
		t.Errorf("detail = %q", d)
	}
	if left := leftovers(t, work); left != nil {
		t.Errorf("left behind: %v", left)
	}
}

func BenchmarkEvaluate(b *testing.B) {
	in := newRelease(b, "counter", "0.1.0").add(b, "counter", "counter", "0.1.0", hostPlat).sign(b)
	e := New(Config{WorkDir: b.TempDir()})
	for b.Loop() {
		if rep := e.Evaluate(context.Background(), in); !rep.Passed {
			b.Fatalf("failed: %+v", rep.Checks)
		}
	}
}
