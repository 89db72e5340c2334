package agent

import (
	"context"
	"fmt"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/vigilmon/vigil/agent/internal/discovery"
	"github.com/vigilmon/vigil/hcl/agentconfig"
	"github.com/vigilmon/vigil/hcl/lockfile"
	"github.com/vigilmon/vigil/sdk/host"
)

// Plugin states reported by Inventory.
const (
	StateOK       = "ok"
	StateUnlocked = "not in lock file"
	StateMismatch = "hash mismatch (not executed)"
	StateFailed   = "failed to start"
)

// PluginStatus is one discovered plugin binary.
type PluginStatus struct {
	Name        string   `json:"name"`
	Version     string   `json:"version"`
	Path        string   `json:"path"`
	SHA256      string   `json:"sha256"`
	Configured  bool     `json:"configured"`
	State       string   `json:"state"`
	Error       string   `json:"error,omitempty"`
	Protocol    int      `json:"protocol_version,omitempty"`
	Description string   `json:"description,omitempty"`
	Collectors  []string `json:"collectors,omitempty"`
	Promises    []string `json:"promises,omitempty"`
}

// Inventory lists the plugins in cfg's plugin dir. Binaries whose hash the
// lock file vouches for are started briefly to read their protocol and
// methods; others are never executed.
func Inventory(ctx context.Context, cfg *agentconfig.Config, log hclog.Logger) ([]PluginStatus, error) {
	found, err := discovery.Scan(cfg.Agent.PluginDir)
	if err != nil {
		return nil, err
	}
	lock, diags := lockfile.Load(LockPath(cfg.Filename))
	if diags.HasErrors() {
		return nil, fmt.Errorf("reading lock file: %s", diags.Error())
	}
	configured := map[string]string{}
	for _, p := range cfg.Plugins {
		configured[p.Name] = p.Version
	}
	sockets, cleanup, diags := tempSocketDir()
	if diags.HasErrors() {
		return nil, diags
	}
	defer cleanup()
	out := make([]PluginStatus, len(found))
	var wg sync.WaitGroup
	for i, f := range found {
		st := PluginStatus{Name: f.Name, Version: f.Version, Path: f.Path, SHA256: f.SHA256}
		if v, ok := configured[f.Name]; ok && (v == "" || v == f.Version) {
			st.Configured = true
		}
		entry, ok := lock.Plugin(f.Name)
		switch {
		case !ok || entry.Version != f.Version:
			st.State = StateUnlocked
		case entry.Platforms[discovery.Platform()].Binary != f.SHA256:
			st.State = StateMismatch
			st.Error = fmt.Sprintf("%s has %s, the lock file expects %s", f.Path, f.SHA256, entry.Platforms[discovery.Platform()].Binary)
		default:
			wg.Add(1)
			go func() {
				defer wg.Done()
				sum, _ := discovery.DecodeHash(f.SHA256)
				p, err := host.Launch(ctx, host.Config{Name: f.Name, Path: f.Path, SHA256: sum, SocketDir: sockets, Logger: log})
				if err != nil {
					st.State, st.Error = StateFailed, err.Error()
					out[i] = st
					return
				}
				info := p.Info()
				p.Close()
				st.State, st.Protocol, st.Description = StateOK, p.Protocol(), info.Description
				st.Collectors, st.Promises = methodNames(info.Collectors), methodNames(info.Promises)
				out[i] = st
			}()
			continue
		}
		out[i] = st
	}
	wg.Wait()
	return out, nil
}
