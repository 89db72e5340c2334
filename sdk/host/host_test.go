package host_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/vigilmon/vigil/sdk"
	"github.com/vigilmon/vigil/sdk/host"
	"github.com/vigilmon/vigil/sdk/metric"
	pb "github.com/vigilmon/vigil/sdk/proto/vigilv1"
	"github.com/vigilmon/vigil/sdk/sdktest"
)

var (
	buildOnce sync.Once
	demoBin   string
)

// demo builds the SDK's test plugin once per test binary.
func demo(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vigil-demo")
		if err != nil {
			t.Fatal(err)
		}
		demoBin = sdktest.BuildTo(t, "../internal/testplugins/demo", filepath.Join(dir, "demo"))
	})
	if demoBin == "" {
		t.Fatal("demo plugin did not build")
	}
	return demoBin
}

func sum(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return s[:]
}

func launch(t *testing.T, cfg host.Config) *host.Plugin {
	t.Helper()
	if cfg.Path == "" {
		cfg.Path = demo(t)
	}
	if cfg.SocketDir == "" {
		cfg.SocketDir = shortTemp(t)
	}
	p, err := host.Launch(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Launch: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func shortTemp(t *testing.T) string {
	d, err := os.MkdirTemp("", "vh")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func TestLaunchReadsManifest(t *testing.T) {
	for _, mtls := range []bool{false, true} {
		p := launch(t, host.Config{SHA256: sum(t, demo(t)), AutoMTLS: mtls})
		info := p.Info()
		if info.Name != "demo" || info.Version != "1.2.3" || info.ProtocolVersion != sdk.ProtocolVersion || p.Protocol() != 1 {
			t.Errorf("mtls=%v: info = %+v, protocol %d", mtls, info, p.Protocol())
		}
		gen, ok := info.Collector("gen")
		if !ok {
			t.Fatalf("no collector gen in %+v", info)
		}
		want := sdk.Schema{
			{Name: "points", Type: sdk.TypeNumber, Default: float64(10)},
			{Name: "series", Type: sdk.TypeNumber, Default: float64(2)},
			{Name: "sleep", Type: sdk.TypeDuration, Default: "0s"},
		}
		if d := cmp.Diff(want, gen.Schema); d != "" {
			t.Errorf("schema (-want +got):\n%s", d)
		}
	}
}

func TestChecksumMismatchIsNeverExecuted(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "started")
	bad := sha256.Sum256([]byte("something else"))
	_, err := host.Launch(context.Background(), host.Config{Path: demo(t), SHA256: bad[:], Args: []string{marker}, SocketDir: shortTemp(t)})
	if !errors.Is(err, host.ErrChecksum) {
		t.Fatalf("err = %v, want ErrChecksum", err)
	}
	if _, statErr := os.Stat(marker); !os.IsNotExist(statErr) {
		t.Fatalf("the binary ran despite the checksum mismatch (marker: %v)", statErr)
	}
	// The same binary with its right hash does run.
	launch(t, host.Config{SHA256: sum(t, demo(t)), Args: []string{marker}})
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("marker not written by a verified launch: %v", err)
	}
}

func TestHostEnvironmentIsNotInherited(t *testing.T) {
	t.Setenv("VIGIL_TEST_SECRET", "hunter2")
	t.Setenv("TZ", "Europe/Paris")
	logger := hclog.New(&hclog.LoggerOptions{Level: hclog.Debug, Output: io.Discard})
	p := launch(t, host.Config{Env: []string{"GIVEN=yes"}, Logger: logger})
	check := func(name, want string) {
		t.Helper()
		diags, err := p.Configure(context.Background(), []host.Instance{{ID: "e", Kind: host.Promise, Method: "env", Config: []byte(`{"name":"` + name + `"}`)}})
		if err != nil || len(diags) > 0 {
			t.Fatalf("configure: %v %v", err, diags)
		}
		r, err := p.Check(context.Background(), "e")
		if err != nil {
			t.Fatal(err)
		}
		if r.Message != want {
			t.Errorf("%s: plugin saw %q, want %q", name, r.Message, want)
		}
	}
	check("VIGIL_TEST_SECRET", "false:")
	check("TZ", "true:Europe/Paris") // on the allow-list
	check("GIVEN", "true:yes")
	check("VIGIL_PLUGIN_LOG_LEVEL", "true:debug") // the host's level, passed on
}

func TestCollectStreamsBatches(t *testing.T) {
	p := launch(t, host.Config{})
	diags, err := p.Configure(context.Background(), []host.Instance{{ID: "g", Kind: host.Collector, Method: "gen", Config: []byte(`{"points":25000,"series":3}`)}})
	if err != nil || len(diags) > 0 {
		t.Fatalf("configure: %v %v", err, diags)
	}
	var batches, points int
	err = p.Collect(context.Background(), "g", 10000, func(b *metric.Batch) error {
		batches++
		points += b.Len()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if batches != 3 || points != 25000 {
		t.Errorf("got %d points in %d batches, want 25000 in 3", points, batches)
	}
}

func TestConfigureDiagnosticsKeepOldInstances(t *testing.T) {
	p := launch(t, host.Config{})
	ctx := context.Background()
	if d, err := p.Configure(ctx, []host.Instance{{ID: "s", Kind: host.Promise, Method: "status", Config: []byte(`{"status":1}`)}}); err != nil || len(d) > 0 {
		t.Fatalf("configure: %v %v", err, d)
	}
	diags, err := p.Configure(ctx, []host.Instance{
		{ID: "g", Kind: host.Collector, Method: "gen", Config: []byte(`{"series":0,"pionts":3}`)},
		{ID: "x", Kind: host.Promise, Method: "nosuch"},
	})
	if err != nil {
		t.Fatal(err)
	}
	type d struct{ ID, Summary, Path string }
	var got []d
	for _, x := range diags {
		p := ""
		if len(x.Path) > 0 {
			p = x.Path[0]
		}
		got = append(got, d{x.InstanceID, x.Summary, p})
	}
	want := []d{
		{"g", "Unsupported argument", "pionts"},
		{"x", "Unknown promise check", ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
	// The rejected configuration replaced nothing: the old instance answers.
	r, err := p.Check(ctx, "s")
	if err != nil || r.Status != sdk.Warning {
		t.Errorf("old instance after rejected configure: %v %v", r, err)
	}
}

func TestDeadPluginIsDetectedAtOnce(t *testing.T) {
	p := launch(t, host.Config{})
	if p.Pid() == 0 {
		t.Fatal("no pid")
	}
	if err := syscall.Kill(p.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Exited():
	case <-time.After(5 * time.Second): // a bound on a hang, not a speed assertion
		t.Fatal("Exited not closed after the plugin was killed")
	}
	_, err := p.Check(context.Background(), "s")
	if !errors.Is(err, host.ErrExited) {
		t.Errorf("call after death: %v, want ErrExited", err)
	}
}

func TestCleanSocketDirRemovesStaleSockets(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sock")
	if err := os.MkdirAll(filepath.Join(dir, "plugin-dir123"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"plugin456", "keep.me"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := host.CleanSocketDir(dir); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if d := cmp.Diff([]string{"keep.me"}, names); d != "" {
		t.Errorf("left (-want +got):\n%s", d)
	}
}

// With AutoMTLS the plugin answers only its host: a client without the
// host's certificate cannot call it, in plain text or over TLS.
func TestMTLSRefusesOtherClients(t *testing.T) {
	p := launch(t, host.Config{AutoMTLS: true, SHA256: sum(t, demo(t))})
	addr := p.Addr()
	if addr == nil || addr.Network() != "unix" {
		t.Fatalf("plugin address %v", addr)
	}
	dial := func(creds credentials.TransportCredentials) error {
		conn, err := grpc.NewClient("unix://"+addr.String(), grpc.WithTransportCredentials(creds))
		if err != nil {
			return err
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = pb.NewPluginClient(conn).GetManifest(ctx, &pb.GetManifestRequest{})
		return err
	}
	if err := dial(insecure.NewCredentials()); err == nil {
		t.Error("a plain-text client read the manifest of an mTLS plugin")
	}
	if err := dial(credentials.NewTLS(&tls.Config{InsecureSkipVerify: true})); err == nil {
		t.Error("a TLS client without the host's certificate read the manifest")
	}
	// The host itself still can.
	if _, err := p.Configure(context.Background(), nil); err != nil {
		t.Errorf("host call over mTLS: %v", err)
	}
}
