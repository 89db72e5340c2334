package agentconfig

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

var configCmp = []cmp.Option{
	cmpopts.IgnoreFields(Config{}, "Files"),
	cmpopts.IgnoreTypes(hcl.Range{}),
	cmpopts.IgnoreInterfaces(struct{ hcl.Expression }{}),
	cmp.Comparer(func(a, b cty.Value) bool { return a.RawEquals(b) }),
}

func defaultAgent(t *testing.T) Agent {
	t.Helper()
	host, err := os.Hostname()
	if err != nil {
		t.Skipf("no hostname: %v", err)
	}
	return Agent{
		Node: host, Tags: map[string]string{}, Interval: 10 * time.Second,
		PluginDir: "/var/lib/vigil/plugins", DataDir: "/var/lib/vigil",
		FlushInterval: time.Second, BatchSize: 10000, ShutdownTimeout: 10 * time.Second, PluginAutoMTLS: true, InternalMetrics: true,
	}
}

func TestParseDecoded(t *testing.T) {
	base, err := filepath.Abs("testdata/valid")
	if err != nil {
		t.Fatal(err)
	}
	withAgent := func(mod func(*Agent)) Agent {
		a := defaultAgent(t)
		mod(&a)
		return a
	}
	tests := []struct {
		name     string
		filename string
		src      string // read from filename when empty
		want     *Config
	}{
		{
			name:     "empty file: defaults and stdout",
			filename: "/etc/vigil/agent.hcl",
			src:      "\n",
			want: &Config{
				Filename: "/etc/vigil/agent.hcl",
				Agent:    defaultAgent(t),
				Outputs:  []Output{{Kind: "stdout"}},
			},
		},
		{
			name:     "registry block: registry output by default",
			filename: "/etc/vigil/agent.hcl",
			src:      "registry {\n  url = \"https://r.example\"\n}\n",
			want: &Config{
				Filename: "/etc/vigil/agent.hcl",
				Agent:    defaultAgent(t),
				Registry: &Registry{URL: "https://r.example"},
				Outputs:  []Output{{Kind: "registry", Gzip: true, Timeout: 10 * time.Second, Spool: true, SpoolMaxBytes: DefaultSpoolMaxBytes}},
			},
		},
		{
			name:     "intervals and timeouts inherit",
			filename: "/etc/vigil/agent.hcl",
			src: `agent {
  interval = "1m"
  data_dir = "/srv/vigil"
}
plugin "system" {
  version = "1.0.0"
  timeout = "15s"
  promise "disk" {
    check = "disk_free"
  }
}
plugin "net" {
  version  = "1.0.0"
  interval = "30s"
}
promise "load" {
  command = ["check_load", "-w", "1"]
}
`,
			want: &Config{
				Filename: "/etc/vigil/agent.hcl",
				Agent: withAgent(func(a *Agent) {
					a.Interval, a.DataDir, a.PluginDir = time.Minute, "/srv/vigil", "/srv/vigil/plugins"
				}),
				Plugins: []Plugin{
					{
						Name: "system", Version: "1.0.0", Interval: time.Minute, Timeout: 15 * time.Second, Config: cty.EmptyObjectVal,
						Promises: []PluginPromise{{
							ID: "disk", Check: "disk_free", Config: cty.EmptyObjectVal, Interval: time.Minute,
							Timeout: 15 * time.Second, Anomaly: &Anomaly{ResultCount: 3, FailureAmount: 3},
						}},
					},
					{Name: "net", Version: "1.0.0", Interval: 30 * time.Second, Timeout: 10 * time.Second, Config: cty.EmptyObjectVal},
				},
				Promises: []ExecPromise{{
					ID: "load", Command: []string{"check_load", "-w", "1"}, Interval: time.Minute, Timeout: 20 * time.Second,
					ExitCodes: "nagios", Anomaly: &Anomaly{ResultCount: 3, FailureAmount: 3},
				}},
				Outputs: []Output{{Kind: "stdout"}},
			},
		},
		{
			name:     "every argument, relative paths",
			filename: "testdata/valid/everything.hcl",
			want: &Config{
				Filename: "testdata/valid/everything.hcl",
				Agent: Agent{
					Node: "db-2", Tags: map[string]string{"dc": "fra1", "rack": "r12"},
					Interval: 30 * time.Second, Jitter: 2 * time.Second,
					PluginDir: filepath.Join(filepath.Dir(base), "plugins"), DataDir: filepath.Join(base, "state"),
					FlushInterval: 500 * time.Millisecond, BatchSize: 5000, ShutdownTimeout: time.Minute, PluginAutoMTLS: false, InternalMetrics: false,
				},
				Registry: &Registry{URL: "http://registry.internal:8080", Token: "vgl_agent_abc"},
				Plugins: []Plugin{{
					Name: "process", Version: "0.3.1-rc.1", Collect: []string{},
					Interval: 30 * time.Second, Timeout: 5 * time.Second, Config: cty.EmptyObjectVal,
					Promises: []PluginPromise{{
						ID: "agent-running", Check: "running",
						Config:   cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("vigil"), "min": cty.NumberIntVal(1)}),
						Interval: 30 * time.Second, Timeout: 5 * time.Second,
						Anomaly: &Anomaly{ResultCount: 3, FailureAmount: 3},
					}},
				}, {
					Name: "system", Version: "0.1.0", Collect: []string{"cpu", "disk"},
					Interval: 30 * time.Second, Timeout: 10 * time.Second, Config: cty.EmptyObjectVal,
					Collectors: []CollectorOverride{
						{Name: "cpu", Interval: 5 * time.Second, Timeout: 5 * time.Second},
						{Name: "disk", Interval: 5 * time.Minute, Timeout: 30 * time.Second},
					},
				}},
				Promises: []ExecPromise{{
					ID:       "backup.fresh",
					Command:  []string{filepath.Join(base, "scripts/check_backup.sh"), "--max-age", "26h"},
					Interval: 5 * time.Minute, Timeout: time.Minute, ExitCodes: "slapos",
					Env:     []string{"LANG=C", "BACKUP_DIR=/srv/backup"},
					Anomaly: &Anomaly{ResultCount: 5, FailureAmount: 2},
					Bang:    []string{"systemctl", "start", "backup.service"},
				}},
				Outputs: []Output{
					{Kind: "stdout"},
					{Kind: "file", Path: filepath.Join(base, "out/points.lp")},
					{
						Kind: "influxdb", URL: "https://influx.internal:8086", Database: "metrics",
						Username: "vigil", Password: "secret", Gzip: false, Timeout: 3 * time.Second,
						Spool: true, SpoolMaxBytes: 64 << 20,
					},
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := []byte(tt.src)
			if tt.src == "" {
				var err error
				if src, err = os.ReadFile(tt.filename); err != nil {
					t.Fatal(err)
				}
			}
			got, diags := Parse(src, tt.filename)
			if len(diags) > 0 {
				t.Fatalf("unexpected diagnostics:%s", debugDiags(diags))
			}
			if diff := cmp.Diff(tt.want, got, configCmp...); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseKeepsSource checks that the parsed file is kept for snippets
// and that a config expression is kept for schema checks.
func TestParseKeepsSource(t *testing.T) {
	src := "plugin \"system\" {\n  version = \"1.0.0\"\n  config  = { a = 1 }\n}\n"
	cfg, diags := Parse([]byte(src), "agent.hcl")
	if diags.HasErrors() {
		t.Fatalf("diagnostics:%s", debugDiags(diags))
	}
	if f := cfg.Files["agent.hcl"]; f == nil || string(f.Bytes) != src {
		t.Errorf("Files[agent.hcl] does not hold the source")
	}
	p := cfg.Plugins[0]
	if p.ConfigExpr == nil {
		t.Fatal("ConfigExpr is nil")
	}
	if got, want := p.ConfigExpr.Range().Start.Line, 3; got != want {
		t.Errorf("ConfigExpr starts on line %d, want %d", got, want)
	}
	if got, want := p.DeclRange.Start.Line, 1; got != want {
		t.Errorf("DeclRange starts on line %d, want %d", got, want)
	}
}

func TestLoadMissingFile(t *testing.T) {
	cfg, diags := Load(filepath.Join(t.TempDir(), "nope.hcl"))
	if cfg == nil || len(diags) != 1 || diags[0].Summary != "Cannot read configuration file" {
		t.Fatalf("got %v, %v", cfg, diags)
	}
}
