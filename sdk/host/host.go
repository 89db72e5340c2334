package host

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"

	"github.com/vigilmon/vigil/sdk"
	"github.com/vigilmon/vigil/sdk/internal/wire"
	"github.com/vigilmon/vigil/sdk/metric"
	pb "github.com/vigilmon/vigil/sdk/proto/vigilv1"
)

// ErrChecksum is returned by Launch when the binary's sha256 is not the
// expected one; the binary was not executed.
var ErrChecksum = errors.New("plugin binary checksum mismatch")

// ErrExited is returned by calls made after the plugin process exited.
var ErrExited = errors.New("plugin process exited")

// DefaultAllowEnv are the host environment variables a plugin inherits
// when Config.AllowEnv is nil.
var DefaultAllowEnv = []string{"PATH", "TZ", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR", "GOGC", "GOMEMLIMIT"}

// Config says which binary to launch and how.
type Config struct {
	Name string   // used in logs; default: the binary's base name
	Path string   // the plugin executable
	Args []string // extra arguments (rarely needed)
	// SHA256 is the expected digest of the binary. When set, go-plugin's
	// SecureConfig hashes the file right before exec and a binary with
	// another digest is never executed.
	SHA256 []byte
	// AutoMTLS secures the gRPC connection with mutual TLS: Ed25519
	// certificates made for this launch, the plugin's handed to it over an
	// inherited pipe (see sdk/internal/wire's TLSFDEnv), each side trusting
	// only the other's. (go-plugin's own AutoMTLS makes ECDSA P-521 keys on
	// both sides, ~16 ms a launch; this is well under 1 ms.)
	AutoMTLS bool
	// SocketDir is a short directory for the plugin's Unix socket; default:
	// the system temp dir. See CleanSocketDir.
	SocketDir string
	// AllowEnv names the host variables the plugin inherits (nil: DefaultAllowEnv).
	AllowEnv []string
	// Env is added to the plugin's environment, KEY=VALUE.
	Env []string
	// StartTimeout bounds the handshake; default 10s.
	StartTimeout time.Duration
	// Logger receives the plugin's stderr log lines; default: discard.
	Logger hclog.Logger
	// Stdout receives what the plugin writes to stdout after the handshake.
	Stdout io.Writer
}

// Plugin is a running plugin process.
type Plugin struct {
	name   string
	client *plugin.Client // nil for Connect
	stop   func()
	rpc    pb.PluginClient
	info   Info
	proto  int

	exited   chan struct{}
	killOnce sync.Once
}

// Launch starts the plugin, completes the handshake and reads its manifest.
func Launch(ctx context.Context, cfg Config) (*Plugin, error) {
	name := cfg.Name
	if name == "" {
		name = filepath.Base(cfg.Path)
	}
	log := cfg.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 10 * time.Second
	}
	cmd := exec.Command(cfg.Path, cfg.Args...)
	cmd.Env = pluginEnv(cfg)
	// The plugin logs at the host's level, so its debug lines show when
	// the host runs at debug.
	cmd.Env = append(cmd.Env, "VIGIL_PLUGIN_LOG_LEVEL="+levelName(log))
	setProcAttr(cmd)

	cc := &plugin.ClientConfig{
		HandshakeConfig:  wire.Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{sdk.ProtocolVersion: {wire.PluginName: &wire.GRPCPlugin{}}},
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		SkipHostEnv:      true,
		StartTimeout:     cfg.StartTimeout,
		Logger:           log.Named(name),
		SyncStdout:       cfg.Stdout,
		Stderr:           io.Discard,
		// gRPC idles an unused connection after 30 minutes by default;
		// watch would take that for a dead plugin. Never idle.
		GRPCDialOptions: []grpc.DialOption{grpc.WithIdleTimeout(0)},
	}
	if cfg.SocketDir != "" {
		cc.UnixSocketConfig = &plugin.UnixSocketConfig{TempDir: cfg.SocketDir}
		cmd.Env = append(cmd.Env, plugin.EnvUnixSocketDir+"="+cfg.SocketDir)
	}
	if cfg.SHA256 != nil {
		cc.SecureConfig = &plugin.SecureConfig{Checksum: cfg.SHA256, Hash: sha256.New()}
	}
	if cfg.AutoMTLS {
		tlsCfg, bundle, err := wire.NewTLSPair()
		if err != nil {
			return nil, fmt.Errorf("making TLS certificates for plugin %s: %w", name, err)
		}
		r, err := tlsPipe(bundle)
		if err != nil {
			return nil, fmt.Errorf("passing TLS certificates to plugin %s: %w", name, err)
		}
		// The child gets its own copy of the read end as fd 3; ours is
		// closed once the process has started (or failed to).
		defer r.Close()
		cmd.ExtraFiles = []*os.File{r}
		cmd.Env = append(cmd.Env, wire.TLSFDEnv+"=3")
		cc.TLSConfig = tlsCfg
	}
	client := plugin.NewClient(cc)
	p := &Plugin{name: name, client: client, exited: make(chan struct{}), stop: client.Kill}
	fail := func(err error) (*Plugin, error) {
		client.Kill()
		return nil, err
	}
	proto, err := client.Client()
	if err != nil {
		if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
			// The slow path only: hash again to say what the file is.
			got, herr := fileSHA256(cfg.Path)
			if herr != nil {
				return fail(fmt.Errorf("%w: %s (expected sha256:%x); it was not executed", ErrChecksum, cfg.Path, cfg.SHA256))
			}
			return fail(fmt.Errorf("%w: %s has sha256:%x, expected sha256:%x; it was not executed", ErrChecksum, cfg.Path, got, cfg.SHA256))
		}
		return fail(fmt.Errorf("starting plugin %s (%s): %w", name, cfg.Path, err))
	}
	raw, err := proto.Dispense(wire.PluginName)
	if err != nil {
		return fail(fmt.Errorf("starting plugin %s: %w", name, err))
	}
	p.rpc = raw.(pb.PluginClient)
	p.proto = client.NegotiatedVersion()
	if gc, ok := proto.(*plugin.GRPCClient); ok {
		go p.watch(gc.Conn)
	}
	if err := p.readManifest(ctx, cfg.StartTimeout); err != nil {
		return fail(err)
	}
	return p, nil
}

// Connect talks to a plugin already served on conn, as sdktest does for a
// plugin running in the test's own process. Kill closes the connection.
func Connect(ctx context.Context, name string, conn *grpc.ClientConn) (*Plugin, error) {
	p := &Plugin{name: name, rpc: pb.NewPluginClient(conn), proto: sdk.ProtocolVersion, exited: make(chan struct{}), stop: func() { conn.Close() }}
	go p.watch(conn)
	if err := p.readManifest(ctx, 10*time.Second); err != nil {
		p.Kill()
		return nil, err
	}
	return p, nil
}

func (p *Plugin) readManifest(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	m, err := p.rpc.GetManifest(ctx, &pb.GetManifestRequest{})
	if err != nil {
		return fmt.Errorf("reading manifest of plugin %s: %w", p.name, err)
	}
	p.info = infoFromProto(m)
	return nil
}

// watch closes exited as soon as the plugin's connection is lost, which is
// when the process dies (or hangs up), and makes sure the process is gone.
func (p *Plugin) watch(conn *grpc.ClientConn) {
	ready := false
	for {
		st := conn.GetState()
		switch {
		case st == connectivity.Ready:
			ready = true
		case st == connectivity.Shutdown, st == connectivity.TransientFailure, ready && st == connectivity.Idle:
			p.Kill()
			return
		}
		if !conn.WaitForStateChange(context.Background(), st) {
			p.Kill()
			return
		}
	}
}

// Kill stops the plugin: a graceful shutdown request, then the process is
// killed after go-plugin's grace period. Safe to call more than once.
func (p *Plugin) Kill() {
	p.killOnce.Do(func() {
		go func() {
			p.stop()
			close(p.exited)
		}()
	})
}

// Close is Kill that waits until the process is gone.
func (p *Plugin) Close() error {
	p.Kill()
	<-p.exited
	return nil
}

// Exited is closed once the plugin process is gone.
func (p *Plugin) Exited() <-chan struct{} { return p.exited }

// Info is what the plugin said about itself at launch.
func (p *Plugin) Info() Info { return p.info }

// Protocol is the negotiated protocol version.
func (p *Plugin) Protocol() int { return p.proto }

// Instance is one configured method of a plugin.
type Instance struct {
	ID     string
	Kind   Kind
	Method string
	Config []byte // JSON object, defaults applied
}

// Kind is an instance's kind.
type Kind int

// Instance kinds.
const (
	Collector Kind = 1
	Promise   Kind = 2
)

// Diagnostic is an sdk.Diagnostic about one instance.
type Diagnostic struct {
	InstanceID string
	sdk.Diagnostic
}

// Configure replaces the plugin's instances. Configuration problems come
// back as diagnostics (with error severity, nothing was replaced); err is
// for failures to call the plugin at all.
func (p *Plugin) Configure(ctx context.Context, instances []Instance) ([]Diagnostic, error) {
	req := &pb.ConfigureRequest{}
	for _, in := range instances {
		req.Instances = append(req.Instances, &pb.ConfigureRequest_Instance{
			Id: in.ID, Kind: pb.ConfigureRequest_Instance_Kind(in.Kind), Method: in.Method, ConfigJson: in.Config,
		})
	}
	resp, err := p.rpc.Configure(ctx, req)
	if err != nil {
		return nil, p.callErr("configure", err)
	}
	var out []Diagnostic
	for _, d := range resp.Diagnostics {
		sev := sdk.SeverityError
		if d.Severity == pb.Diagnostic_WARNING {
			sev = sdk.SeverityWarning
		}
		out = append(out, Diagnostic{InstanceID: d.InstanceId, Diagnostic: sdk.Diagnostic{Severity: sev, Summary: d.Summary, Detail: d.Detail, Path: d.Path}})
	}
	return out, nil
}

// Collect gathers one collector instance, calling fn with each validated
// batch as it arrives. The batch is only valid during fn.
func (p *Plugin) Collect(ctx context.Context, instanceID string, batchSize int, fn func(*metric.Batch) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := p.rpc.Collect(ctx, &pb.CollectRequest{InstanceId: instanceID, BatchSize: uint32(batchSize)})
	if err != nil {
		return p.callErr("collect", err)
	}
	for {
		msg, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return p.callErr("collect", err)
		}
		b := wire.BatchFromProto(msg)
		if err := b.Validate(); err != nil {
			return fmt.Errorf("plugin %s sent a malformed batch: %w", p.name, err)
		}
		if err := fn(b); err != nil {
			return err
		}
	}
}

// Check runs one promise instance. A check that could not run comes back
// as a Result with status UNKNOWN and the plugin's error as message.
func (p *Plugin) Check(ctx context.Context, instanceID string) (sdk.Result, error) {
	resp, err := p.rpc.Check(ctx, &pb.CheckRequest{InstanceId: instanceID})
	if err != nil {
		return sdk.Result{}, p.callErr("check", err)
	}
	r := sdk.Result{Status: sdk.Status(resp.Status), Message: resp.Message, LongOutput: resp.LongOutput}
	if resp.Error != "" {
		r.Status = sdk.Unknown
		r.Message = resp.Error
	}
	if r.Status < sdk.OK || r.Status > sdk.Unknown {
		r.Status = sdk.Unknown
	}
	for _, pd := range resp.Perfdata {
		r.Perfdata = append(r.Perfdata, sdk.Perfdata{
			Label: pd.Label, Value: pd.Value, Unknown: pd.Unknown, Unit: pd.Unit,
			Warn: pd.Warn, Crit: pd.Crit, Min: pd.Min, Max: pd.Max,
		})
	}
	return r, nil
}

func (p *Plugin) callErr(what string, err error) error {
	select {
	case <-p.exited:
		return fmt.Errorf("%s on plugin %s: %w", what, p.name, ErrExited)
	default:
	}
	if p.client != nil && p.client.Exited() {
		return fmt.Errorf("%s on plugin %s: %w", what, p.name, ErrExited)
	}
	return fmt.Errorf("%s on plugin %s: %w", what, p.name, err)
}

// tlsPipe returns the read end of a pipe that holds bundle, its write end
// already closed, so the plugin reads the bundle and then end of file.
func tlsPipe(bundle []byte) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	// A pipe holds 64 KiB; the bundle is about 1 KiB, so this never blocks.
	_, err = w.Write(bundle)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func levelName(l hclog.Logger) string {
	switch {
	case l.IsTrace():
		return "trace"
	case l.IsDebug():
		return "debug"
	case l.IsInfo():
		return "info"
	case l.IsWarn():
		return "warn"
	}
	return "error"
}

func pluginEnv(cfg Config) []string {
	allow := cfg.AllowEnv
	if allow == nil {
		allow = DefaultAllowEnv
	}
	var env []string
	for _, k := range allow {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return append(env, cfg.Env...)
}

func fileSHA256(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// CleanSocketDir creates dir (0700) if needed and removes the stale plugin
// sockets and socket directories a previous host left behind (after a
// crash). Call it once at host start, before any Launch.
func CleanSocketDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating plugin socket dir: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("reading plugin socket dir: %w", err)
	}
	var errs []error
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "plugin") {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Info is a plugin's manifest as the host sees it.
type Info struct {
	Name            string
	Version         string
	ProtocolVersion int
	Description     string
	SDKVersion      string
	Collectors      []Method
	Promises        []Method
}

// Method is a collector or promise check and its config schema.
type Method struct {
	Name        string
	Description string
	Schema      sdk.Schema
}

// Collector returns the collector called name.
func (i Info) Collector(name string) (Method, bool) { return findMethod(i.Collectors, name) }

// Promise returns the promise check called name.
func (i Info) Promise(name string) (Method, bool) { return findMethod(i.Promises, name) }

func findMethod(ms []Method, name string) (Method, bool) {
	for _, m := range ms {
		if m.Name == name {
			return m, true
		}
	}
	return Method{}, false
}

func infoFromProto(m *pb.Manifest) Info {
	i := Info{Name: m.Name, Version: m.Version, ProtocolVersion: int(m.ProtocolVersion), Description: m.Description, SDKVersion: m.SdkVersion}
	conv := func(pm *pb.Method) Method {
		out := Method{Name: pm.Name, Description: pm.Description}
		for _, a := range pm.Schema {
			attr := sdk.Attribute{Name: a.Name, Type: sdk.Type(a.Type), Description: a.Description, Required: a.Required}
			if len(a.DefaultJson) > 0 {
				var v any
				if json.Unmarshal(a.DefaultJson, &v) == nil {
					attr.Default = v
				}
			}
			out.Schema = append(out.Schema, attr)
		}
		return out
	}
	for _, c := range m.Collectors {
		i.Collectors = append(i.Collectors, conv(c))
	}
	for _, p := range m.Promises {
		i.Promises = append(i.Promises, conv(p))
	}
	return i
}

// Pid is the plugin's process id, 0 for a Connect-ed plugin.
func (p *Plugin) Pid() int {
	if p.client == nil {
		return 0
	}
	if rc := p.client.ReattachConfig(); rc != nil {
		return rc.Pid
	}
	return 0
}

// Addr is the plugin's listening address (a Unix socket), nil for a
// Connect-ed plugin.
func (p *Plugin) Addr() net.Addr {
	if p.client == nil {
		return nil
	}
	if rc := p.client.ReattachConfig(); rc != nil {
		return rc.Addr
	}
	return nil
}
