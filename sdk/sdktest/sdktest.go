// Package sdktest runs a Vigil plugin from a Go test, the way its author
// (first party or third) checks it: in-process over real gRPC with Serve,
// or as a built binary through sdk/host with Build and Start. Either way the
// test calls the plugin's collectors and promises as the agent would:
// Configure, then Collect or Check.
package sdktest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/vigilmon/vigil/sdk"
	"github.com/vigilmon/vigil/sdk/host"
	"github.com/vigilmon/vigil/sdk/metric"
	pb "github.com/vigilmon/vigil/sdk/proto/vigilv1"
)

// Plugin is a plugin under test.
type Plugin struct {
	*host.Plugin
	t testing.TB
}

// Serve runs m in the test's process, served over a real gRPC connection.
func Serve(t testing.TB, m sdk.Manifest) *Plugin {
	t.Helper()
	srv, err := sdk.NewPluginServer(m, hclog.NewNullLogger())
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	conn, gs := plugin.TestGRPCConn(t, func(s *grpc.Server) { pb.RegisterPluginServer(s, srv) })
	t.Cleanup(gs.Stop)
	p, err := host.Connect(context.Background(), m.Name, conn)
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return &Plugin{Plugin: p, t: t}
}

// Build compiles the main package in dir (a directory path, relative to
// the test's working directory or absolute) into a temporary binary and
// returns its path.
func Build(t testing.TB, dir string) string {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	return BuildTo(t, dir, filepath.Join(t.TempDir(), filepath.Base(abs)))
}

// BuildTo is Build with the output path chosen by the caller, for a binary
// shared by several tests.
func BuildTo(t testing.TB, dir, out string) string {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = abs
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sdktest: building %s: %v\n%s", dir, err, b)
	}
	return out
}

// Options tune Start.
type Options struct {
	AutoMTLS bool
	Logger   hclog.Logger
	Stdout   io.Writer
}

// Start launches the plugin binary (checksum-verified, as the agent does)
// and stops it when the test ends.
func Start(t testing.TB, binary string, opts Options) *Plugin {
	t.Helper()
	sum, err := fileSum(binary)
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	if opts.Logger == nil {
		opts.Logger = hclog.New(&hclog.LoggerOptions{Output: newTestLogWriter(t), Level: hclog.Debug})
	}
	p, err := host.Launch(context.Background(), host.Config{
		Path: binary, SHA256: sum, AutoMTLS: opts.AutoMTLS, Logger: opts.Logger, Stdout: opts.Stdout,
		SocketDir: shortDir(t),
	})
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return &Plugin{Plugin: p, t: t}
}

// Configure configures one instance of method with cfg (defaults from the
// plugin's schema applied) and returns its diagnostics.
func (p *Plugin) Configure(kind host.Kind, method string, cfg map[string]any) ([]host.Diagnostic, error) {
	var m host.Method
	var ok bool
	if kind == host.Collector {
		m, ok = p.Info().Collector(method)
	} else {
		m, ok = p.Info().Promise(method)
	}
	if !ok {
		return nil, fmt.Errorf("plugin %s has no method %q", p.Info().Name, method)
	}
	raw, err := m.Schema.WithDefaults(sdk.NewConfig(cfg)).JSON()
	if err != nil {
		return nil, err
	}
	return p.Plugin.Configure(context.Background(), []host.Instance{{ID: method, Kind: kind, Method: method, Config: raw}})
}

// Collect configures collector with cfg and gathers it once.
func (p *Plugin) Collect(collector string, cfg map[string]any) ([]metric.Point, error) {
	if err := p.configure(host.Collector, collector, cfg); err != nil {
		return nil, err
	}
	var pts []metric.Point
	err := p.Plugin.Collect(context.Background(), collector, 0, func(b *metric.Batch) error {
		pts = append(pts, b.Points()...)
		return nil
	})
	return pts, err
}

// Check configures promise with cfg and runs it once.
func (p *Plugin) Check(promise string, cfg map[string]any) (sdk.Result, error) {
	if err := p.configure(host.Promise, promise, cfg); err != nil {
		return sdk.Result{}, err
	}
	return p.Plugin.Check(context.Background(), promise)
}

func (p *Plugin) configure(kind host.Kind, method string, cfg map[string]any) error {
	diags, err := p.Configure(kind, method, cfg)
	if err != nil {
		return err
	}
	var d sdk.Diagnostics
	for _, x := range diags {
		d = append(d, x.Diagnostic)
	}
	if d.HasErrors() {
		return d
	}
	return nil
}

func fileSum(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := sha256.Sum256(b)
	return s[:], nil
}

// shortDir returns a short temporary directory for Unix sockets (their
// paths are limited to about 100 bytes, and t.TempDir can be longer).
func shortDir(t testing.TB) string {
	d, err := os.MkdirTemp("", "vst")
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// testLogWriter sends plugin log lines to t.Log until the test ends; lines
// that arrive later (the plugin's last words while it is being killed) are
// dropped rather than logged on a finished test.
type testLogWriter struct {
	t    testing.TB
	mu   sync.Mutex
	done bool
}

func newTestLogWriter(t testing.TB) *testLogWriter {
	w := &testLogWriter{t: t}
	t.Cleanup(func() { w.mu.Lock(); w.done = true; w.mu.Unlock() })
	return w
}

func (w *testLogWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(b), "\n"))
	}
	return len(b), nil
}
