package sdk

import (
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/vigilmon/vigil/sdk/internal/wire"
)

// Serve runs the plugin described by m until its host goes away. Call it
// from main and nothing else; it does not return.
//
// Serve validates the manifest, speaks the go-plugin handshake, logs as
// JSON on stderr (the host re-levels those lines under the plugin's name),
// and exits when its parent process is gone even if the kernel's parent
// death signal was not delivered.
func Serve(m Manifest) {
	log := hclog.New(&hclog.LoggerOptions{
		Name:       m.Name,
		Level:      hclog.LevelFromString(envOr("VIGIL_PLUGIN_LOG_LEVEL", "info")),
		Output:     os.Stderr,
		JSONFormat: true,
	})
	srv, err := newServer(m, log)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", m.Name, err)
		os.Exit(1)
	}
	if os.Getenv(wire.Handshake.MagicCookieKey) != wire.Handshake.MagicCookieValue {
		fmt.Fprintf(os.Stderr, "%s %s is a Vigil plugin: the Vigil agent runs it; it is not meant to be run by hand.\n", m.Name, m.Version)
		os.Exit(1)
	}
	go watchParent(os.Getppid, time.Second, func() {
		log.Error("host process is gone; exiting")
		os.Exit(2)
	})
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: wire.Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{
			ProtocolVersion: {wire.PluginName: &wire.GRPCPlugin{Impl: srv}},
		},
		GRPCServer:  plugin.DefaultGRPCServer,
		TLSProvider: hostTLS,
		Logger:      log,
	})
	// The host asked us to stop: release what instances hold.
	srv.closeAll()
	os.Exit(0)
}

// hostTLS reads the TLS material the host passes on an inherited file
// descriptor, when it asked for mutual TLS; nil config means plain.
func hostTLS() (*tls.Config, error) {
	fdStr := os.Getenv(wire.TLSFDEnv)
	if fdStr == "" {
		return nil, nil
	}
	fd, err := strconv.Atoi(fdStr)
	if err != nil || fd < 3 {
		return nil, fmt.Errorf("%s=%q is not a file descriptor", wire.TLSFDEnv, fdStr)
	}
	f := os.NewFile(uintptr(fd), "vigil-tls")
	defer f.Close()
	bundle, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("reading TLS material from the host: %w", err)
	}
	return wire.PluginTLS(bundle)
}

// watchParent calls gone once getppid no longer returns the parent it
// returned first: the parent died and the process was re-parented. It is
// the portable backstop for Linux's parent-death signal, which the host
// also sets.
func watchParent(getppid func() int, every time.Duration, gone func()) {
	ppid := getppid()
	t := time.NewTicker(every)
	defer t.Stop()
	for range t.C {
		if getppid() != ppid {
			gone()
			return
		}
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
