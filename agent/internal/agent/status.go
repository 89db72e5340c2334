package agent

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// StatusFileName is the daemon's status file in its data dir: which
// plugins run, rewritten at start and after every reload (accepted or
// not), so `vigil install` can tell whether a new plugin came up.
const StatusFileName = "vigil.status.json"

// Status is what the daemon reports in its status file.
type Status struct {
	PID int `json:"pid"`
	// Generation grows by one at start and at every reload attempt.
	Generation int64     `json:"generation"`
	At         time.Time `json:"at"`
	// ReloadError is set when the last reload was rejected; the plugins
	// listed are then the previous configuration's, still running.
	ReloadError string        `json:"reload_error,omitempty"`
	Plugins     []PluginState `json:"plugins"`
}

// PluginState is one configured plugin in the status file.
type PluginState struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Up      bool   `json:"up"`
	Error   string `json:"error,omitempty"`
}

// states lists the set's plugins: those running and those left out.
func (s *Set) states() []PluginState {
	var out []PluginState
	for _, p := range s.plugins {
		out = append(out, PluginState{Name: p.cfg.Name, Version: p.info.Version, Up: true})
	}
	for _, name := range s.failed {
		st := PluginState{Name: name, Error: s.failedWhy[name]}
		for _, pc := range s.cfg.Plugins {
			if pc.Name == name {
				st.Version = pc.Version
			}
		}
		out = append(out, st)
	}
	return out
}

// writeStatus replaces the status file atomically.
func writeStatus(dataDir string, st Status) error {
	st.PID, st.At = os.Getpid(), time.Now().UTC()
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dataDir, ".status-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dataDir, StatusFileName))
}

// ReadStatus reads the status file of the daemon on dataDir.
func ReadStatus(dataDir string) (Status, error) {
	var st Status
	b, err := os.ReadFile(filepath.Join(dataDir, StatusFileName))
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("reading %s: %w", StatusFileName, err)
	}
	return st, nil
}
