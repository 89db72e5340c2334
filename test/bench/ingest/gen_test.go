package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/influxdata/line-protocol/v2/lineprotocol"
)

// decodedPoint is one line of a generated body, decoded strictly.
type decodedPoint struct {
	measurement string
	tags        []tag
	fields      map[string]lineprotocol.ValueKind
	time        int64
}

// key names the point's series and time.
func (p decodedPoint) key() string {
	var b strings.Builder
	b.WriteString(p.measurement)
	for _, t := range p.tags {
		b.WriteString("," + t.key + "=" + t.value)
	}
	return b.String() + " " + time.Unix(0, p.time).UTC().Format(time.RFC3339Nano)
}

// decodeBody gunzips and decodes a body; any error fails t.
func decodeBody(t *testing.T, gz []byte) (raw []byte, pts []decodedPoint) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	raw, err = io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	dec := lineprotocol.NewDecoderWithBytes(raw)
	for dec.Next() {
		m, err := dec.Measurement()
		if err != nil {
			t.Fatalf("measurement: %v", err)
		}
		p := decodedPoint{measurement: string(m), fields: map[string]lineprotocol.ValueKind{}}
		for {
			k, v, err := dec.NextTag()
			if err != nil {
				t.Fatalf("tag: %v", err)
			}
			if k == nil {
				break
			}
			p.tags = append(p.tags, tag{string(k), string(v)})
		}
		for {
			k, v, err := dec.NextField()
			if err != nil {
				t.Fatalf("field: %v", err)
			}
			if k == nil {
				break
			}
			p.fields[string(k)] = v.Kind()
		}
		ts, err := dec.Time(lineprotocol.Nanosecond, time.Time{})
		if err != nil {
			t.Fatalf("time: %v", err)
		}
		if ts.IsZero() {
			t.Fatalf("a line without a timestamp")
		}
		p.time = ts.UnixNano()
		pts = append(pts, p)
	}
	return raw, pts
}

// wantFields is the fields and kinds of each measurement, per field set.
var wantFields = map[fieldSet]map[string]map[string]lineprotocol.ValueKind{
	lightFields: {
		"cpu":      {"processes": lineprotocol.Int, "usage_system": lineprotocol.Float, "usage_user": lineprotocol.Float},
		"mem":      {"available": lineprotocol.Int, "used": lineprotocol.Int, "used_percent": lineprotocol.Float},
		"disk":     {"free": lineprotocol.Int, "used": lineprotocol.Int, "used_percent": lineprotocol.Float},
		"procstat": {"cpu_usage": lineprotocol.Float, "memory_rss": lineprotocol.Int},
	},
	// what plugins/system writes: see its cpu.go, memory.go and disk.go
	systemFields: {
		"cpu": {"usage_user": lineprotocol.Float, "usage_system": lineprotocol.Float, "usage_idle": lineprotocol.Float,
			"usage_iowait": lineprotocol.Float, "usage_irq": lineprotocol.Float, "usage_softirq": lineprotocol.Float,
			"usage_steal": lineprotocol.Float, "usage_nice": lineprotocol.Float, "usage_guest": lineprotocol.Float,
			"usage_guest_nice": lineprotocol.Float, "usage_active": lineprotocol.Float},
		"mem": {"total": lineprotocol.Int, "available": lineprotocol.Int, "used": lineprotocol.Int, "free": lineprotocol.Int,
			"buffers": lineprotocol.Int, "cached": lineprotocol.Int, "used_percent": lineprotocol.Float,
			"available_percent": lineprotocol.Float},
		"disk": {"total": lineprotocol.Int, "free": lineprotocol.Int, "used": lineprotocol.Int, "used_percent": lineprotocol.Float,
			"inodes_total": lineprotocol.Int, "inodes_free": lineprotocol.Int, "inodes_used": lineprotocol.Int},
	},
}

func TestBenchBodies(t *testing.T) {
	for _, fields := range []fieldSet{systemFields, lightFields} {
		t.Run(string(fields), func(t *testing.T) { testBenchBodies(t, fields) })
	}
}

func testBenchBodies(t *testing.T, fields fieldSet) {
	const agents, size = 3, 490 // 35 intervals of 14 series
	start := time.Unix(1_700_000_000, 0)
	f := newFleet(agents, benchShape(fields), start, time.Second)
	specs := benchSpecs(agents, size, 7*size)
	pool, err := f.generate(context.Background(), specs)
	if err != nil {
		t.Fatal(err)
	}
	if len(pool) != 7 {
		t.Fatalf("%d bodies, want 7", len(pool))
	}
	seen := map[string]bool{}
	measurements := map[string]int{}
	for i, b := range pool {
		raw, pts := decodeBody(t, b.gz)
		if b.points != size || len(pts) != size || b.raw != len(raw) {
			t.Errorf("body %d: %d points decoded, %d declared, raw %d of %d bytes; want %d points", i, len(pts), b.points, b.raw, len(raw), size)
		}
		if want := i % agents; b.agent != want {
			t.Errorf("body %d: agent %d, want %d", i, b.agent, want)
		}
		node := f.agents[b.agent].node
		for _, p := range pts {
			measurements[p.measurement]++
			if diff := cmp.Diff(wantFields[fields][p.measurement], p.fields); diff != "" {
				t.Fatalf("body %d, %s: fields (-want +got):\n%s", i, p.key(), diff)
			}
			if !slices.IsSortedFunc(p.tags, func(a, b tag) int { return strings.Compare(a.key, b.key) }) {
				t.Fatalf("body %d: tags not sorted: %s", i, p.key())
			}
			tags := map[string]string{}
			for _, tg := range p.tags {
				tags[tg.key] = tg.value
			}
			if tags["node"] != node || tags["plugin"] != "system" {
				t.Fatalf("body %d of %s: point %s", i, node, p.key())
			}
			if p.time < start.UnixNano() || (p.time-start.UnixNano())%int64(time.Second) != 0 {
				t.Fatalf("body %d: time of %s not on a step after the start", i, p.key())
			}
			if seen[p.key()] {
				t.Fatalf("body %d: point %s generated twice", i, p.key())
			}
			seen[p.key()] = true
		}
	}
	want := map[string]int{"cpu": 7 * size * 9 / 14, "mem": 7 * size / 14, "disk": 7 * size * 4 / 14}
	if diff := cmp.Diff(want, measurements); diff != "" {
		t.Errorf("points per measurement (-want +got):\n%s", diff)
	}
}

func TestSoakBodies(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	f := newFleet(20, soakShape, start, 10*time.Second)
	pool, err := f.generate(context.Background(), soakSpecs(f, 3))
	if err != nil {
		t.Fatal(err)
	}
	if len(pool) != 60 {
		t.Fatalf("%d bodies, want 60", len(pool))
	}
	for i, b := range pool {
		agent, n := i/3, i%3
		s := len(f.agents[agent].series)
		if s < 100 || s > 200 {
			t.Errorf("agent %d has %d series, want 100 to 200", agent, s)
		}
		_, pts := decodeBody(t, b.gz)
		if b.agent != agent || len(pts) != s {
			t.Fatalf("body %d: agent %d with %d points, want agent %d with %d", i, b.agent, len(pts), agent, s)
		}
		// One body is one collection: every series once, at the
		// agent's n-th interval.
		wantTime := start.Add(time.Duration(n) * 10 * time.Second).UnixNano()
		series := map[string]bool{}
		for _, p := range pts {
			if p.time != wantTime {
				t.Fatalf("body %d: point %s, want time %d", i, p.key(), wantTime)
			}
			series[p.key()] = true
		}
		if len(series) != s {
			t.Errorf("body %d: %d distinct series, want %d", i, len(series), s)
		}
	}
}

func TestBenchSpecs(t *testing.T) {
	for _, tc := range []struct {
		name         string
		agents, size int
		points       int64
		want         []batchSpec
	}{
		{
			name: "round robin", agents: 2, size: 10, points: 35,
			want: []batchSpec{{0, 0, 10}, {1, 0, 10}, {0, 10, 10}, {1, 10, 10}},
		},
		{name: "at least one body", agents: 3, size: 10, points: 0, want: []batchSpec{{0, 0, 10}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := benchSpecs(tc.agents, tc.size, tc.points)
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(batchSpec{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestBenchStart checks that every point of a pool is in the past.
func TestBenchStart(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	const agents, size = 4, 300
	const points = 50 * size
	start := benchStart(now, agents, 14, size, points, time.Second)
	f := newFleet(agents, benchShape(systemFields), start, time.Second)
	pool, err := f.generate(context.Background(), benchSpecs(agents, size, points))
	if err != nil {
		t.Fatal(err)
	}
	var last int64
	for _, b := range pool {
		_, pts := decodeBody(t, b.gz)
		for _, p := range pts {
			last = max(last, p.time)
		}
	}
	if last >= now.UnixNano() || last < now.Add(-time.Minute).UnixNano() {
		t.Errorf("last point at %s, want within the minute before %s", time.Unix(0, last).UTC(), now.UTC())
	}
}

func TestPoolSize(t *testing.T) {
	for _, tc := range []struct {
		name                string
		rate                int
		d                   time.Duration
		size, agents, conns int
		want                int64
	}{
		{name: "rate times duration", rate: 500_000, d: 30 * time.Second, size: 5000, agents: 50, conns: 4, want: 15_000_000},
		{name: "a body per agent at least", rate: 1000, d: time.Second, size: 5000, agents: 50, conns: 4, want: 250_000},
		{name: "a body per connection at least", rate: 1000, d: time.Second, size: 5000, agents: 1, conns: 8, want: 40_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := poolSize(tc.rate, tc.d, tc.size, tc.agents, tc.conns); got != tc.want {
				t.Errorf("poolSize = %d, want %d", got, tc.want)
			}
		})
	}
}
