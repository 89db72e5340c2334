package install

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/vigilmon/vigil/agent/internal/discovery"
	"github.com/vigilmon/vigil/agent/internal/registryclient"
	"github.com/vigilmon/vigil/agent/internal/registryclient/registrytest"
	"github.com/vigilmon/vigil/hcl/lockfile"
	"github.com/vigilmon/vigil/sdk/host"
	"github.com/vigilmon/vigil/sdk/release"
)

// benchRelease is the counter plugin built as plain `go build` builds it
// (unstripped, ~20 MB, the size of a real plugin) and packed as a signed
// release, once per test binary. testbin strips its binaries, so the
// benchmark builds its own; the binary is removed once it is packed.
var benchRelease struct {
	once    sync.Once
	rel     registrytest.Release
	binSize int64
	err     error
}

func unstrippedCounter(b *testing.B) (registrytest.Release, int64) {
	b.Helper()
	benchRelease.once.Do(func() {
		dir, err := os.MkdirTemp("", "vigil-bench-install")
		if err != nil {
			benchRelease.err = err
			return
		}
		defer os.RemoveAll(dir)
		bin := filepath.Join(dir, "vigil-plugin-counter")
		if out, err := exec.Command("go", "build", "-o", bin, "../../../test/plugins/counter").CombinedOutput(); err != nil {
			benchRelease.err = fmt.Errorf("building the counter plugin: %w\n%s", err, out)
			return
		}
		fi, err := os.Stat(bin)
		if err != nil {
			benchRelease.err = err
			return
		}
		benchRelease.binSize = fi.Size()
		benchRelease.rel = registrytest.Build(b, bin, "counter", "0.1.0", here, nil)
	})
	if benchRelease.err != nil {
		b.Fatal(benchRelease.err)
	}
	return benchRelease.rel, benchRelease.binSize
}

func benchRegistry(b *testing.B) (*registryclient.Client, string, int64, int64) {
	b.Helper()
	rel, binSize := unstrippedCounter(b)
	srv := registrytest.New(b)
	srv.Add(rel)
	client, err := registryclient.New(srv.URL, "", nil)
	if err != nil {
		b.Fatal(err)
	}
	archive := int64(len(rel.Archives[release.ArchiveName("counter", "0.1.0", here)]))
	return client, srv.URL, binSize, archive
}

// BenchmarkInstallFromRegistry is `vigil install counter` from a registry on
// loopback into an empty plugin dir: resolve, download and verify the
// signed archive, unpack, hash, launch pinned, move and lock. MB/s is of
// the unpacked binary.
func BenchmarkInstallFromRegistry(b *testing.B) {
	client, url, binSize, archive := benchRegistry(b)
	b.SetBytes(binSize)
	root := b.TempDir()
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := filepath.Join(root, fmt.Sprint(i))
		if err := os.Mkdir(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		req := Request{Name: "counter", Source: url, PluginDir: filepath.Join(dir, "plugins"),
			LockPath: filepath.Join(dir, "vigil.lock.hcl"), Log: hclog.NewNullLogger()}
		b.StartTimer()
		if _, err := FromRegistry(ctx, client, req); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(binSize)/1e6, "binary-MB")
	b.ReportMetric(float64(archive)/1e6, "archive-MB")
}

// BenchmarkInstallPhases runs the steps FromRegistry runs, one by one, and
// reports each one's mean in ms/op: resolve (versions and the download
// descriptor), download (SHA256SUMS, its signature, the archive written to
// disk while hashed), unpack, hash (the binary's sha256), launch (exec
// pinned to that hash, which go-plugin re-hashes, and read the manifest)
// and place (rename and write the lock).
func BenchmarkInstallPhases(b *testing.B) {
	client, url, binSize, _ := benchRegistry(b)
	b.SetBytes(binSize)
	root := b.TempDir()
	ctx := context.Background()
	platform := release.Platform{OS: runtime.GOOS, Arch: runtime.GOARCH}
	var phases [6]time.Duration
	names := [6]string{"resolve", "download", "unpack", "hash", "launch", "place"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := filepath.Join(root, fmt.Sprint(i))
		req := Request{Name: "counter", Source: url, PluginDir: filepath.Join(dir, "plugins"),
			LockPath: filepath.Join(dir, "vigil.lock.hcl"), Log: hclog.NewNullLogger()}
		if err := os.MkdirAll(req.PluginDir, 0o755); err != nil {
			b.Fatal(err)
		}
		tmp, err := os.MkdirTemp(dir, ".vigil-install-")
		if err != nil {
			b.Fatal(err)
		}
		sockets, err := os.MkdirTemp("", "vigil-install")
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()

		t0 := time.Now()
		version, _, err := resolve(ctx, client, req.Name, Constraints{}, false)
		if err != nil {
			b.Fatal(err)
		}
		desc, err := client.Download(ctx, req.Name, version, platform.OS, platform.Arch, false)
		if err != nil {
			b.Fatal(err)
		}
		pub, _, err := trust(req, nil, desc)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		archive, archiveSum, err := download(ctx, client, req, desc, pub, tmp)
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		binary, err := unpack(ctx, req.Name, archive, filepath.Join(tmp, "unpacked"))
		if err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		sum, err := lockfile.HashFile(binary)
		if err != nil {
			b.Fatal(err)
		}
		raw, err := discovery.DecodeHash(sum)
		if err != nil {
			b.Fatal(err)
		}
		t4 := time.Now()
		p, err := host.Launch(ctx, host.Config{Name: req.Name, Path: binary, SHA256: raw, SocketDir: sockets, Logger: req.Log})
		if err != nil {
			b.Fatal(err)
		}
		info := p.Info()
		p.Close()
		t5 := time.Now()
		dest := discovery.Path(req.PluginDir, info.Name, info.Version)
		if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(binary, dest); err != nil {
			b.Fatal(err)
		}
		lock, diags := lockfile.Load(req.LockPath)
		if diags.HasErrors() {
			b.Fatal(diags.Error())
		}
		lock.Set(lockfile.Entry{Name: info.Name, Version: info.Version, Source: req.Source, SigningKey: pub.String(),
			Platforms: map[string]lockfile.PlatformHashes{discovery.Platform(): {Binary: sum, Archive: archiveSum}}})
		if err := lock.Save(req.LockPath); err != nil {
			b.Fatal(err)
		}
		t6 := time.Now()

		for j, d := range []time.Duration{t1.Sub(t0), t2.Sub(t1), t3.Sub(t2), t4.Sub(t3), t5.Sub(t4), t6.Sub(t5)} {
			phases[j] += d
		}
		b.StopTimer()
		os.RemoveAll(sockets)
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	for j, d := range phases {
		b.ReportMetric(float64(d.Microseconds())/1e3/float64(b.N), names[j]+"-ms/op")
	}
}
