package evaluate

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vigilmon/vigil/sdk"
	"github.com/vigilmon/vigil/sdk/host"
	"github.com/vigilmon/vigil/sdk/metric"
	"github.com/vigilmon/vigil/sdk/release"
)

// launch starts the unpacked binary with its sha256 pinned and checks the
// handshake and the negotiated protocol version.
func (ev *evaluation) launch(ctx context.Context, bin string) (host.Info, bool) {
	var info host.Info
	ok := ev.step(ctx, "launch "+runtime.GOOS+"/"+runtime.GOARCH, func() (string, error) {
		sum, err := release.HashFile(bin)
		if err != nil {
			return "", err
		}
		pin, _ := hex.DecodeString(sum)
		// A private, short directory: Unix socket paths are limited to ~100 bytes.
		if ev.sockets, err = os.MkdirTemp("", "ve"); err != nil {
			ev.log.Error("making plugin socket directory", "error", err)
			return "", errors.New("the registry could not make a socket directory; this is not a problem of the release: ask the admin to look at the registry log")
		}
		// The handshake does not watch ctx: bound it by what is left.
		start := ev.cfg.MethodTimeout
		if d, ok := ctx.Deadline(); ok {
			start = max(min(start, time.Until(d)), time.Millisecond)
		}
		p, err := host.Launch(ctx, host.Config{
			Name: ev.in.Plugin, Path: bin, SHA256: pin, AutoMTLS: true,
			SocketDir: ev.sockets, StartTimeout: start, Logger: ev.log,
		})
		if err != nil {
			return "", fmt.Errorf("%w: the binary must call sdk.Serve and complete the handshake within %s", err, start)
		}
		ev.plugin = p
		info = p.Info()
		ev.proto = p.Protocol()
		if b, err := json.Marshal(manifestOf(info)); err == nil {
			ev.manifest = b
		}
		if ev.proto < 1 || ev.proto > sdk.ProtocolVersion {
			return "", fmt.Errorf("negotiated protocol version %d, but the registry supports 1 to %d", ev.proto, sdk.ProtocolVersion)
		}
		return fmt.Sprintf("handshake completed with the binary of sha256:%s, protocol version %d, SDK %s", sum, ev.proto, info.SDKVersion), nil
	})
	return info, ok
}

// checkManifest checks the plugin says it is the release's plugin and version.
func (ev *evaluation) checkManifest(info host.Info) bool {
	return ev.step(context.Background(), "manifest", func() (string, error) {
		if info.Name != ev.in.Plugin || info.Version != ev.in.Version {
			return "", fmt.Errorf("the plugin's manifest says %s %s, but this is the release of %s %s: set Name and Version in sdk.Manifest to what you release",
				info.Name, info.Version, ev.in.Plugin, ev.in.Version)
		}
		return fmt.Sprintf("%s %s with %d collectors and %d promises", info.Name, info.Version, len(info.Collectors), len(info.Promises)), nil
	})
}

// methods configures every declared method with its schema defaults and
// calls it once; a method that fails does not stop the others.
func (ev *evaluation) methods(ctx context.Context, info host.Info) {
	for _, m := range info.Collectors {
		ev.step(ctx, "collector "+m.Name, func() (string, error) { return ev.method(ctx, host.Collector, m) })
	}
	for _, m := range info.Promises {
		ev.step(ctx, "promise "+m.Name, func() (string, error) { return ev.method(ctx, host.Promise, m) })
	}
}

// method runs one method: configure, then one collect or check.
func (ev *evaluation) method(ctx context.Context, kind host.Kind, m host.Method) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	var required []string
	for _, a := range m.Schema {
		if a.Required && a.Default == nil {
			required = append(required, a.Name)
		}
	}
	cfg, err := m.Schema.WithDefaults(sdk.NewConfig(nil)).JSON()
	if err != nil {
		return "", fmt.Errorf("encoding the schema defaults: %w", err)
	}
	id := "evaluate-" + m.Name
	var diags []host.Diagnostic
	err = ev.call(ctx, "configure", func(ctx context.Context) (err error) {
		diags, err = ev.plugin.Configure(ctx, []host.Instance{{ID: id, Kind: kind, Method: m.Name, Config: cfg}})
		return err
	})
	if err != nil {
		return "", err
	}
	var problems []string
	for _, d := range diags {
		if d.Severity == sdk.SeverityError && !(len(d.Path) > 0 && slices.Contains(required, d.Path[0])) {
			problems = append(problems, sdk.Diagnostics{d.Diagnostic}.Error())
		}
	}
	switch {
	case len(problems) > 0:
		return "", fmt.Errorf("configuring with the schema's defaults %s failed: %s; the defaults must make a valid configuration", cfg, strings.Join(problems, "; "))
	case len(required) > 0:
		return "not exercised: requires " + strings.Join(required, ", "), nil
	}

	start := time.Now()
	if kind == host.Collector {
		points := 0
		err := ev.call(ctx, "collect", func(ctx context.Context) error {
			return ev.plugin.Collect(ctx, id, 0, func(b *metric.Batch) error { points += b.Len(); return nil })
		})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("configured with %s; collected %d points in %s", cfg, points, time.Since(start).Round(time.Microsecond)), nil
	}
	var res sdk.Result
	err = ev.call(ctx, "check", func(ctx context.Context) (err error) {
		res, err = ev.plugin.Check(ctx, id)
		return err
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("configured with %s; answered %s %q in %s", cfg, res.Status, res.Message, time.Since(start).Round(time.Microsecond)), nil
}

// call makes one plugin call bounded by the method timeout, telling a
// timeout in those words. The call's context is canceled at the timeout
// rather than given a deadline, so that the plugin's side cannot end the
// call first and blur a timeout into some other error.
func (ev *evaluation) call(ctx context.Context, what string, fn func(context.Context) error) error {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var timedOut atomic.Bool
	timer := time.AfterFunc(ev.cfg.MethodTimeout, func() { timedOut.Store(true); cancel() })
	defer timer.Stop()
	err := fn(cctx)
	if err != nil && timedOut.Load() {
		return fmt.Errorf("%s did not answer within %s, the method timeout", what, ev.cfg.MethodTimeout)
	}
	return err
}

// manifestJSON is the manifest as the API shows it.
type manifestJSON struct {
	Name            string       `json:"name"`
	Version         string       `json:"version"`
	ProtocolVersion int          `json:"protocol_version"`
	Description     string       `json:"description,omitempty"`
	SDKVersion      string       `json:"sdk_version,omitempty"`
	Collectors      []methodJSON `json:"collectors"`
	Promises        []methodJSON `json:"promises"`
}

type methodJSON struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Schema      []attributeJSON `json:"schema"`
}

type attributeJSON struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Description string `json:"description,omitempty"`
	Required    bool   `json:"required,omitempty"`
	Default     any    `json:"default,omitempty"`
}

func manifestOf(i host.Info) manifestJSON {
	conv := func(ms []host.Method) []methodJSON {
		out := []methodJSON{}
		for _, m := range ms {
			mj := methodJSON{Name: m.Name, Description: m.Description, Schema: []attributeJSON{}}
			for _, a := range m.Schema {
				mj.Schema = append(mj.Schema, attributeJSON{a.Name, string(a.Type), a.Description, a.Required, a.Default})
			}
			out = append(out, mj)
		}
		return out
	}
	return manifestJSON{i.Name, i.Version, i.ProtocolVersion, i.Description, i.SDKVersion, conv(i.Collectors), conv(i.Promises)}
}
