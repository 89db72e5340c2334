package install

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"

	"github.com/vigilmon/vigil/agent/internal/discovery"
	"github.com/vigilmon/vigil/agent/internal/registryclient"
	"github.com/vigilmon/vigil/agent/internal/registryclient/registrytest"
	"github.com/vigilmon/vigil/hcl/lockfile"
	"github.com/vigilmon/vigil/sdk/release"
)

var here = release.Platform{OS: runtime.GOOS, Arch: runtime.GOARCH}

// fixture is a fake registry serving the counter plugin and an empty data
// directory to install into.
type fixture struct {
	srv       *registrytest.Server
	client    *registryclient.Client
	priv      release.PrivateKey
	dataDir   string
	pluginDir string
	lockPath  string
}

func newFixture(t *testing.T, versions ...string) *fixture {
	t.Helper()
	_, priv, err := release.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{srv: registrytest.New(t), priv: priv, dataDir: t.TempDir()}
	f.srv.Token = "vgr_agent"
	f.pluginDir = filepath.Join(f.dataDir, "plugins")
	f.lockPath = filepath.Join(f.dataDir, "vigil.lock.hcl")
	for _, v := range versions {
		f.srv.Add(registrytest.Build(t, counter(t), "counter", v, here, priv))
	}
	if f.client, err = registryclient.New(f.srv.URL, "vgr_agent", nil); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) request(constraints string) Request {
	return Request{Name: "counter", Constraints: constraints, Source: f.srv.URL,
		PluginDir: f.pluginDir, LockPath: f.lockPath, Log: hclog.NewNullLogger()}
}

// files lists every file under the data dir, relative and sorted.
func (f *fixture) files(t *testing.T) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(f.dataDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(f.dataDir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(out)
	return out
}

func archiveSum(t *testing.T, r registrytest.Release) string {
	t.Helper()
	sums, err := release.ParseSums(r.Sums)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := sums.Lookup(release.ArchiveName(r.Plugin, r.Version, here))
	return "sha256:" + s
}

func TestFromRegistryInstalls(t *testing.T) {
	f := newFixture(t, "0.1.0")
	rel := registrytest.Build(t, counter(t), "counter", "0.1.0", here, f.priv)
	binSum, err := lockfile.HashFile(counter(t))
	if err != nil {
		t.Fatal(err)
	}
	var progressed int64
	req := f.request("")
	req.Progress = func(file string, done, total int64) { progressed = done }
	got, err := FromRegistry(context.Background(), f.client, req)
	if err != nil {
		t.Fatal(err)
	}
	dest := discovery.Path(f.pluginDir, "counter", "0.1.0")
	want := Result{
		Installed: Installed{Name: "counter", Version: "0.1.0", Path: dest, SHA256: binSum,
			Collectors: []string{"seq"}, Defaults: map[string]any{"points": 3.0, "series": 1.0}},
		SigningKey: f.priv.Public().String(), KeyRecorded: true,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("result (-want +got):\n%s", d)
	}
	wantLock := map[string]lockfile.Entry{"counter": {
		Name: "counter", Version: "0.1.0", Source: f.srv.URL, SigningKey: f.priv.Public().String(),
		Platforms: map[string]lockfile.PlatformHashes{discovery.Platform(): {Binary: binSum, Archive: archiveSum(t, rel)}},
	}}
	if d := cmp.Diff(wantLock, lockEntries(t, f.lockPath)); d != "" {
		t.Errorf("lock (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"plugins/counter/0.1.0/vigil-plugin-counter", "vigil.lock.hcl"}, f.files(t)); d != "" {
		t.Errorf("files (-want +got):\n%s", d)
	}
	if int(progressed) != len(rel.Archives[release.ArchiveName("counter", "0.1.0", here)]) {
		t.Errorf("progress ended at %d bytes", progressed)
	}
	// Again: nothing to do.
	again, err := FromRegistry(context.Background(), f.client, f.request(""))
	if err != nil {
		t.Fatal(err)
	}
	if !again.Unchanged || again.Previous != "0.1.0" {
		t.Errorf("second install = %+v, want unchanged from 0.1.0", again)
	}
}

func TestFromRegistryResolvesConstraints(t *testing.T) {
	// Only 0.1.0 holds a binary that says it is 0.1.0; choosing another
	// version fails the manifest check, so success proves the choice.
	f := newFixture(t, "0.0.9", "0.1.0", "0.2.0", "0.1.1-rc.1")
	for _, c := range []string{"~> 0.1.0", ">= 0.1, < 0.2", "0.1.0", "~> 0.0, != 0.0.9, != 0.2.0"} {
		t.Run(c, func(t *testing.T) {
			os.Remove(f.lockPath)
			got, err := FromRegistry(context.Background(), f.client, f.request(c))
			if err != nil {
				t.Fatal(err)
			}
			if got.Version != "0.1.0" {
				t.Errorf("installed %s, want 0.1.0", got.Version)
			}
			if e := lockEntries(t, f.lockPath)["counter"]; e.Constraints != c {
				t.Errorf("lock constraints %q, want %q", e.Constraints, c)
			}
		})
	}
	t.Run("the manifest must match", func(t *testing.T) {
		_, err := FromRegistry(context.Background(), f.client, f.request("0.2.0"))
		if want := "the archive of counter 0.2.0 holds plugin counter 0.1.0"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want %q", err, want)
		}
	})
}

func TestFromRegistryRefusals(t *testing.T) {
	_, other, err := release.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		setup  func(t *testing.T, f *fixture, r *Request) // before the release is served
		edit   func(t *testing.T, f *fixture, r *registrytest.Release)
		is     error
		substr string
	}{{
		name: "wrong signature",
		edit: func(t *testing.T, f *fixture, r *registrytest.Release) {
			r.Signature = release.Sign(other, r.Sums) // the descriptor still names f's key
		},
		is: release.ErrSignature,
	}, {
		name: "tampered archive",
		edit: func(t *testing.T, f *fixture, r *registrytest.Release) {
			for n, b := range r.Archives {
				b = bytes.Clone(b)
				b[len(b)/2] ^= 1
				r.Archives[n] = b
			}
		},
		is: ErrChecksum,
	}, {
		name: "key differs from the lock's",
		setup: func(t *testing.T, f *fixture, r *Request) {
			lock := lockfile.New()
			lock.Set(lockfile.Entry{Name: "counter", Version: "0.0.9", Source: f.srv.URL, SigningKey: other.Public().String(),
				Platforms: map[string]lockfile.PlatformHashes{discovery.Platform(): {Binary: "sha256:" + strings.Repeat("0", 64)}}})
			if err := lock.Save(f.lockPath); err != nil {
				t.Fatal(err)
			}
		},
		is: ErrKeyChanged,
	}, {
		name:  "key not among signing_keys",
		setup: func(t *testing.T, f *fixture, r *Request) { r.TrustedKeys = []string{other.Public().String()} },
		is:    ErrUntrustedKey,
	}, {
		name: "archive with a .. entry",
		edit: func(t *testing.T, f *fixture, r *registrytest.Release) {
			r.Archives[release.ArchiveName("counter", "0.1.0", here)] = tarGz(t, map[string]string{
				"vigil-plugin-counter": "#!/bin/sh\n", "../escaped": "gotcha",
			})
			r.Resign(t, f.priv)
		},
		is: release.ErrUnsafePath,
	}, {
		name: "archive with another file",
		edit: func(t *testing.T, f *fixture, r *registrytest.Release) {
			r.Archives[release.ArchiveName("counter", "0.1.0", here)] = tarGz(t, map[string]string{
				"vigil-plugin-counter": "#!/bin/sh\n", "install.sh": "rm -rf /",
			})
			r.Resign(t, f.priv)
		},
		is: release.ErrContents,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			req := f.request("")
			if tc.setup != nil {
				tc.setup(t, f, &req)
			}
			lockBefore, _ := os.ReadFile(f.lockPath)
			filesBefore := f.files(t)
			r := registrytest.Build(t, counter(t), "counter", "0.1.0", here, f.priv)
			if tc.edit != nil {
				tc.edit(t, f, &r)
			}
			f.srv.Add(r)
			_, err := FromRegistry(context.Background(), f.client, req)
			if !errors.Is(err, tc.is) {
				t.Fatalf("got %v, want %v", err, tc.is)
			}
			lockAfter, _ := os.ReadFile(f.lockPath)
			if d := cmp.Diff(string(lockBefore), string(lockAfter)); d != "" {
				t.Errorf("lock changed (-before +after):\n%s", d)
			}
			if d := cmp.Diff(filesBefore, f.files(t)); d != "" {
				t.Errorf("files changed (-before +after):\n%s", d)
			}
		})
	}
}

// tarGz builds a tar.gz of regular files (mode 0755).
func tarGz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o755, Size: int64(len(files[n])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(files[n]))
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func TestFromRegistryVersionNotFound(t *testing.T) {
	f := newFixture(t, "0.1.0", "0.0.9")
	_, err := FromRegistry(context.Background(), f.client, f.request("~> 1.0"))
	var nm *NoMatchError
	if !errors.As(err, &nm) {
		t.Fatalf("got %v, want a *NoMatchError", err)
	}
	if want := `no version of counter matches "~> 1.0"; it has 0.1.0, 0.0.9`; err.Error() != want {
		t.Errorf("got %q\nwant %q", err, want)
	}
	_, err = FromRegistry(context.Background(), f.client, Request{Name: "nosuch", Source: f.srv.URL, PluginDir: f.pluginDir, LockPath: f.lockPath})
	if !registryclient.IsNotFound(err) || !strings.Contains(err.Error(), `the registry has no plugin "nosuch"`) {
		t.Errorf("unknown plugin: got %v", err)
	}
}

func TestFromRegistryInterrupted(t *testing.T) {
	f := newFixture(t, "0.1.0")
	// A lock with another plugin, which must stay as it is.
	lock := lockfile.New()
	lock.Set(lockfile.Entry{Name: "other", Version: "1.0.0", Source: lockfile.SourceLocal,
		Platforms: map[string]lockfile.PlatformHashes{discovery.Platform(): {Binary: "sha256:" + strings.Repeat("1", 64)}}})
	if err := lock.Save(f.lockPath); err != nil {
		t.Fatal(err)
	}
	lockBefore, _ := os.ReadFile(f.lockPath)
	stalled := f.srv.Stall(release.ArchiveName("counter", "0.1.0", here))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-stalled
		cancel()
	}()
	_, err := FromRegistry(ctx, f.client, f.request(""))
	if !errors.Is(err, ErrInterrupted) || err.Error() != "install interrupted" {
		t.Fatalf("got %v, want %q", err, ErrInterrupted)
	}
	lockAfter, _ := os.ReadFile(f.lockPath)
	if d := cmp.Diff(string(lockBefore), string(lockAfter)); d != "" {
		t.Errorf("lock changed (-before +after):\n%s", d)
	}
	if d := cmp.Diff([]string{"vigil.lock.hcl"}, f.files(t)); d != "" {
		t.Errorf("files left (-want +got):\n%s", d)
	}
}

func TestFromRegistryUpgrade(t *testing.T) {
	f := newFixture(t, "0.0.9", "0.1.0")
	// 0.0.9 is installed (by hand here) with the constraint "~> 0.0".
	old := discovery.Path(f.pluginDir, "counter", "0.0.9")
	if err := os.MkdirAll(filepath.Dir(old), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(old, []byte("old"), 0o755); err != nil {
		t.Fatal(err)
	}
	lock := lockfile.New()
	lock.Set(lockfile.Entry{Name: "counter", Version: "0.0.9", Constraints: "~> 0.0", Source: f.srv.URL, SigningKey: f.priv.Public().String(),
		Platforms: map[string]lockfile.PlatformHashes{discovery.Platform(): {Binary: "sha256:" + strings.Repeat("0", 64)}}})
	if err := lock.Save(f.lockPath); err != nil {
		t.Fatal(err)
	}
	req := f.request("")
	req.Upgrade = true
	got, err := FromRegistry(context.Background(), f.client, req)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != "0.1.0" || got.Previous != "0.0.9" || got.Constraints != "~> 0.0" || got.KeyRecorded {
		t.Errorf("upgrade = %+v, want 0.0.9 → 0.1.0 within ~> 0.0, key already recorded", got)
	}
	if e := lockEntries(t, f.lockPath)["counter"]; e.Version != "0.1.0" || e.Constraints != "~> 0.0" {
		t.Errorf("lock = %+v", e)
	}
	if d := cmp.Diff([]string{"plugins/counter/0.1.0/vigil-plugin-counter", "vigil.lock.hcl"}, f.files(t)); d != "" {
		t.Errorf("files (-want +got):\n%s", d)
	}
}

func TestRemove(t *testing.T) {
	f := newFixture(t, "0.1.0")
	if _, err := FromRegistry(context.Background(), f.client, f.request("")); err != nil {
		t.Fatal(err)
	}
	found, err := Remove(f.pluginDir, f.lockPath, "counter")
	if err != nil || !found {
		t.Fatalf("Remove = %v, %v", found, err)
	}
	if d := cmp.Diff(map[string]lockfile.Entry{}, lockEntries(t, f.lockPath)); d != "" {
		t.Errorf("lock (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"vigil.lock.hcl"}, f.files(t)); d != "" {
		t.Errorf("files (-want +got):\n%s", d)
	}
	if found, err := Remove(f.pluginDir, f.lockPath, "counter"); err != nil || found {
		t.Errorf("second Remove = %v, %v, want false, nil", found, err)
	}
}
