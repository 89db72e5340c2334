package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParseCounts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    int64
		wantErr bool
	}{
		{
			name: "four statements, one measurement missing",
			in: `{"results":[{"statement_id":0,"series":[{"name":"cpu","columns":["time","count"],"values":[[0,6300000]]}]},` +
				`{"statement_id":1,"series":[{"name":"mem","columns":["time","count"],"values":[[0,700000]]}]},` +
				`{"statement_id":2,"series":[{"name":"disk","columns":["time","count"],"values":[[0,2800000]]}]},` +
				`{"statement_id":3}]}`,
			want: 9_800_000,
		},
		{name: "empty database", in: `{"results":[{"statement_id":0},{"statement_id":1}]}`, want: 0},
		{name: "statement error", in: `{"results":[{"statement_id":0,"error":"database not found: vigil"}]}`, wantErr: true},
		{name: "query error", in: `{"error":"error parsing query"}`, wantErr: true},
		{name: "not JSON", in: `<html>`, wantErr: true},
		{name: "a row without a count", in: `{"results":[{"series":[{"values":[[0]]}]}]}`, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseCounts([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("count = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestParseShardWrites(t *testing.T) {
	vars := `{
"system": {"currentTime": "2025-11-22T03:20:00Z", "started": "2025-11-22T03:19:00Z", "uptime": 60},
"cmdline": ["influxd", "-config", "influxdb.conf"],
"database:vigil": {"name": "database", "tags": {"database": "vigil"}, "values": {"numMeasurements": 1, "numSeries": 2}},
"shard:/d/vigil/autogen/1:1": {"name": "shard", "tags": {"database": "vigil", "engine": "tsm1", "id": "1"}, "values": {"diskBytes": 103, "writePointsOk": 4000, "writeReq": 2}},
"shard:/d/vigil/autogen/2:2": {"name": "shard", "tags": {"database": "vigil", "engine": "tsm1", "id": "2"}, "values": {"writePointsOk": 500}},
"shard:/d/_internal/monitor/3:3": {"name": "shard", "tags": {"database": "_internal", "id": "3"}, "values": {"writePointsOk": 77}},
"write": {"name": "write", "tags": null, "values": {"pointReq": 4577}}
}`
	for _, tc := range []struct {
		name, in, db string
		want         int64
		wantErr      bool
	}{
		{name: "two shards of vigil", in: vars, db: "vigil", want: 4500},
		{name: "another database", in: vars, db: "bench", want: 0},
		{name: "not JSON", in: "404 page not found", db: "vigil", wantErr: true},
		{name: "a bad shard", in: `{"shard:x": {"name": "shard", "values": {"writePointsOk": "many"}}}`, db: "vigil", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseShardWrites([]byte(tc.in), tc.db)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("writes = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		want    options
		wantErr string
	}{
		{
			name: "defaults",
			want: options{duration: 30 * time.Second, connections: 4, batch: 5000, points: "system", agents: 50, modes: allModes,
				interval: 10 * time.Second, format: "text", poolRate: 500_000, landTimeout: 3 * time.Minute},
		},
		{
			name: "soak defaults",
			args: []string{"--soak"},
			want: options{duration: 2 * time.Minute, connections: 4, batch: 5000, points: "system", agents: 1000, modes: allModes, soak: true,
				interval: 10 * time.Second, format: "text", poolRate: 500_000, landTimeout: 3 * time.Minute},
		},
		{
			name: "soak with its own size",
			args: []string{"--soak", "--duration", "30s", "--agents", "10"},
			want: options{duration: 30 * time.Second, connections: 4, batch: 5000, points: "system", agents: 10, modes: allModes, soak: true,
				interval: 10 * time.Second, format: "text", poolRate: 500_000, landTimeout: 3 * time.Minute},
		},
		{
			name: "some modes",
			args: []string{"--modes", "influxdb,forward", "--format", "json", "--connections", "8"},
			want: options{duration: 30 * time.Second, connections: 8, batch: 5000, points: "system", agents: 50, modes: []string{"influxdb", "forward"},
				interval: 10 * time.Second, format: "json", poolRate: 500_000, landTimeout: 3 * time.Minute},
		},
		{
			name: "short phases",
			args: []string{"--duration", "5s"},
			want: options{duration: 5 * time.Second, connections: 4, batch: 5000, points: "system", agents: 50, modes: allModes,
				interval: 10 * time.Second, format: "text", poolRate: 500_000, landTimeout: 3 * time.Minute},
		},
		{
			name: "light points",
			args: []string{"--points", "light"},
			want: options{duration: 30 * time.Second, connections: 4, batch: 5000, points: "light", agents: 50, modes: allModes,
				interval: 10 * time.Second, format: "text", poolRate: 500_000, landTimeout: 3 * time.Minute},
		},
		{name: "unknown points", args: []string{"--points", "heavy"}, wantErr: `--points must be system or light, not "heavy"`},
		{name: "points with soak", args: []string{"--soak", "--points", "light"}, wantErr: "--points does not apply to --soak"},
		{name: "unknown mode", args: []string{"--modes", "influx"}, wantErr: `unknown mode "influx"`},
		{name: "mode twice", args: []string{"--modes", "embedded,embedded"}, wantErr: `"embedded" twice`},
		{name: "modes with soak", args: []string{"--soak", "--modes", "embedded"}, wantErr: "does not apply to --soak"},
		{name: "bad format", args: []string{"--format", "yaml"}, wantErr: "--format"},
		{name: "no connections", args: []string{"--connections", "0"}, wantErr: "--connections"},
		{name: "stray argument", args: []string{"now"}, wantErr: `unexpected argument "now"`},
		{name: "interval longer than the soak", args: []string{"--soak", "--duration", "5s"}, wantErr: "--interval"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			got, err := parseArgs(tc.args, &stderr)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(options{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckTargets(t *testing.T) {
	phases := func(embedded, landedRate float64, complete bool, rss float64) []*phaseReport {
		return []*phaseReport{
			{Mode: modeInflux, AckedRate: 200_000, Servers: []usage{{Name: "influxd", RSSMaxMiB: 400}}},
			{Mode: modeEmbedded, AckedRate: embedded, Servers: []usage{{Name: "registry", RSSMaxMiB: rss}}},
			{Mode: modeForward, AckedRate: 1, AckedPoints: 100, Landed: &landed{Rate: landedRate, Complete: complete, Points: 90},
				Servers: []usage{{Name: "registry", RSSMaxMiB: 100}, {Name: "influxd", RSSMaxMiB: 900}}},
		}
	}
	for _, tc := range []struct {
		name   string
		phases []*phaseReport
		want   []target
		met    bool
	}{
		{
			name:   "met",
			phases: phases(320_000, 190_000, true, 120),
			want: []target{
				{Name: "embedded / influxdb (points/s acked)", Measured: 1.6, Limit: "≥ 1.5", OK: true},
				{Name: "forward landed / influxdb (points/s)", Measured: 0.95, Limit: "≥ 0.9", OK: true},
				{Name: "registry RSS max (MiB)", Measured: 120, Limit: "≤ 250", OK: true},
			},
			met: true,
		},
		{
			name:   "missed",
			phases: phases(250_000, 190_000, false, 300),
			want: []target{
				{Name: "embedded / influxdb (points/s acked)", Measured: 1.25, Limit: "≥ 1.5"},
				{Name: "forward landed / influxdb (points/s)", Measured: 0.95, Limit: "≥ 0.9",
					Note: "only 90 of 100 acked points landed within the wait"},
				{Name: "registry RSS max (MiB)", Measured: 300, Limit: "≤ 250"},
			},
		},
		{
			name:   "influxdb alone has no ratio",
			phases: phases(1, 1, true, 1)[:1],
			met:    true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &benchReport{Phases: tc.phases}
			r.checkTargets()
			if diff := cmp.Diff(tc.want, r.Targets); diff != "" {
				t.Errorf("targets (-want +got):\n%s", diff)
			}
			if r.Met != tc.met {
				t.Errorf("met = %v, want %v", r.Met, tc.met)
			}
		})
	}
}

func TestSoakMemory(t *testing.T) {
	// samples are every 5 s from 0 s, in MiB.
	series := func(mib ...int64) []rssSample {
		var out []rssSample
		for i, m := range mib {
			out = append(out, rssSample{at: time.Duration(i) * 5 * time.Second, kib: []int64{m << 10}})
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		samples []rssSample
		want    soakRSS
	}{
		{
			name:    "60s flat but for a peak",
			samples: series(20, 100, 100, 100, 100, 100, 100, 100, 100, 110, 100, 100, 100),
			want:    soakRSS{Every10s: []float64{20, 100, 100, 100, 100, 100, 100}, First: 100, Last: 100, Max: 110, Growth: 1.1},
		},
		{
			name:    "60s growing",
			samples: series(20, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150),
			want:    soakRSS{Every10s: []float64{20, 50, 70, 90, 110, 130, 150}, First: 50, Last: 150, Max: 150, Growth: 150.0 / 80},
		},
		{
			name:    "20s: a quarter left out",
			samples: series(10, 30, 30, 33, 33),
			want:    soakRSS{Every10s: []float64{10, 30, 33}, First: 30, Last: 33, Max: 33, Growth: 1.1},
		},
		{name: "no samples", samples: nil, want: soakRSS{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, soakMemory(tc.samples, 10*time.Second), cmpopts.EquateApprox(0, 1e-9)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestThousands(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 254467.4: "254,467", 12_000_000: "12,000,000", -1234: "-1,234"} {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%v) = %q, want %q", in, got, want)
		}
	}
}
