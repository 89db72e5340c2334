package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
	// compressed as the agent's registry output compresses its batches
	"github.com/klauspost/compress/gzip"
)

// fleet is the simulated agents and what each of them collects. An
// agent's points form one endless stream ordered by (interval, series):
// point k is series k mod S at interval k / S, so any window of the stream
// is a batch, and no two batches of one agent share a point.
type fleet struct {
	agents []simAgent
	start  int64 // Unix ns of interval 0
	step   int64 // ns between two intervals
	fields fieldSet
}

// simAgent is one simulated agent.
type simAgent struct {
	node   string
	series []series
}

// series is one series of an agent: its measurement and its tags, sorted
// by key (the encoder drops a line with unsorted tags).
type series struct {
	measurement string
	tags        []tag
	seed        uint64
}

type tag struct{ key, value string }

// shape is what each simulated agent collects: a cpu series per core
// plus the total, one mem series, a disk series per mount, and procs(a)
// procstat series for agent a (nil: none), each point with the fields of
// fields.
type shape struct {
	cores, disks int
	procs        func(agent int) int
	fields       fieldSet
}

// fieldSet is which fields the cpu, mem and disk points carry.
type fieldSet string

const (
	// systemFields are the fields plugins/system writes (cpu.go's
	// cpuFields, memory.go's memFields, disk.go's diskFields): 11, 8 and
	// 7 a point, ~330 bytes a line. It is what an agent running the
	// system plugin sends, and the default.
	systemFields fieldSet = "system"
	// lightFields are 3 fields a point (~140 bytes a line), the bench's
	// points until 2026-12: InfluxDB takes twice as many of them a second.
	lightFields fieldSet = "light"
)

var fieldSets = []string{string(systemFields), string(lightFields)}

// benchShape is the agent of the throughput phases: 14 series.
func benchShape(fields fieldSet) shape { return shape{cores: 8, disks: 4, fields: fields} }

// soakShape gives each soak agent 100 to 200 series, so one collection
// interval is one batch of 100–200 points.
var soakShape = shape{cores: 8, disks: 4, procs: func(a int) int { return 86 + (a*7919)%101 }, fields: lightFields}

var mounts = [...]struct{ path, device, fstype string }{
	{"/", "vda1", "ext4"}, {"/boot", "vda2", "ext4"}, {"/home", "vdb1", "xfs"}, {"/var", "vdc1", "xfs"},
	{"/srv", "vdd1", "xfs"}, {"/tmp", "tmpfs", "tmpfs"}, {"/opt", "vde1", "ext4"}, {"/data", "vdf1", "xfs"},
}

// newFleet builds n agents named sim-0001, sim-0002, … with the given
// shape; interval 0 is at start, the next ones every step.
func newFleet(n int, sh shape, start time.Time, step time.Duration) *fleet {
	f := &fleet{agents: make([]simAgent, n), start: start.UnixNano(), step: int64(step), fields: sh.fields}
	for a := range f.agents {
		node := fmt.Sprintf("sim-%04d", a+1)
		base := []tag{{"node", node}, {"plugin", "system"}}
		var ss []series
		add := func(m string, tags ...tag) {
			all := append(append([]tag(nil), tags...), base...)
			sortTags(all)
			ss = append(ss, series{measurement: m, tags: all, seed: uint64(a)<<32 | uint64(len(ss))})
		}
		add("cpu", tag{"cpu", "cpu-total"})
		for c := range sh.cores {
			add("cpu", tag{"cpu", fmt.Sprintf("cpu%d", c)})
		}
		add("mem")
		for d := range min(sh.disks, len(mounts)) {
			m := mounts[d]
			add("disk", tag{"device", m.device}, tag{"fstype", m.fstype}, tag{"path", m.path})
		}
		if sh.procs != nil {
			for p := range sh.procs(a) {
				add("procstat", tag{"process_name", fmt.Sprintf("worker-%03d", p)})
			}
		}
		f.agents[a] = simAgent{node: node, series: ss}
	}
	return f
}

func sortTags(t []tag) {
	slices.SortFunc(t, func(a, b tag) int { return strings.Compare(a.key, b.key) })
}

// batchSpec is one request body to generate: points [first, first+n) of
// agent's stream.
type batchSpec struct {
	agent int
	first int64
	n     int
}

// batch is one generated request body.
type batch struct {
	agent  int
	points int
	raw    int    // bytes of line protocol before gzip
	gz     []byte // the gzipped body
}

// generate encodes and gzips every spec on every core; the result is in
// the order of specs.
func (f *fleet) generate(ctx context.Context, specs []batchSpec) ([]batch, error) {
	out := make([]batch, len(specs))
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, runtime.GOMAXPROCS(0))
	for w := range errs {
		wg.Go(func() {
			e := newBodyEncoder()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(specs) {
					return
				}
				if err := ctx.Err(); err != nil {
					errs[w] = errors.New("generation interrupted")
					return
				}
				b, err := e.encode(f, specs[i])
				if err != nil {
					errs[w] = err
					return
				}
				out[i] = b
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// bodyEncoder encodes batches, reusing its buffers.
type bodyEncoder struct {
	lp  lineprotocol.Encoder
	buf bytes.Buffer
	gz  *gzip.Writer
}

func newBodyEncoder() *bodyEncoder {
	e := &bodyEncoder{}
	e.lp.SetPrecision(lineprotocol.Nanosecond)
	e.gz, _ = gzip.NewWriterLevel(&e.buf, gzip.BestSpeed) // a valid level: no error
	return e
}

// encode writes spec as line protocol and gzips it.
func (e *bodyEncoder) encode(f *fleet, spec batchSpec) (batch, error) {
	lp, err := e.lineProtocol(f, spec)
	if err != nil {
		return batch{}, err
	}
	e.buf.Reset()
	e.gz.Reset(&e.buf)
	if _, err := e.gz.Write(lp); err != nil {
		return batch{}, fmt.Errorf("gzipping a body: %w", err)
	}
	if err := e.gz.Close(); err != nil {
		return batch{}, fmt.Errorf("gzipping a body: %w", err)
	}
	return batch{agent: spec.agent, points: spec.n, raw: len(lp), gz: bytes.Clone(e.buf.Bytes())}, nil
}

// lineProtocol returns spec's points as line protocol, valid until the
// next call.
func (e *bodyEncoder) lineProtocol(f *fleet, spec batchSpec) ([]byte, error) {
	ag := &f.agents[spec.agent]
	s := int64(len(ag.series))
	e.lp.Reset()
	for k := spec.first; k < spec.first+int64(spec.n); k++ {
		sr := &ag.series[k%s]
		interval := k / s
		e.lp.StartLine(sr.measurement)
		for _, t := range sr.tags {
			e.lp.AddTag(t.key, t.value)
		}
		x := mix(sr.seed ^ uint64(interval)*0x9e3779b97f4a7c15)
		if f.fields == systemFields && sr.measurement != "procstat" {
			addSystemFields(&e.lp, sr.measurement, x)
			e.lp.EndLine(time.Unix(0, f.start+interval*f.step))
			continue
		}
		switch sr.measurement {
		case "cpu":
			e.lp.AddField("processes", lineprotocol.IntValue(int64(150+x%100)))
			e.lp.AddField("usage_system", percent(x>>7))
			e.lp.AddField("usage_user", percent(x>>3))
		case "mem":
			used := int64(4<<30 + x%(8<<30))
			e.lp.AddField("available", lineprotocol.IntValue(16<<30-used))
			e.lp.AddField("used", lineprotocol.IntValue(used))
			e.lp.AddField("used_percent", percent(x>>5))
		case "disk":
			used := int64(20<<30 + x%(200<<30))
			e.lp.AddField("free", lineprotocol.IntValue(500<<30-used))
			e.lp.AddField("used", lineprotocol.IntValue(used))
			e.lp.AddField("used_percent", percent(x>>9))
		case "procstat":
			e.lp.AddField("cpu_usage", percent(x>>4))
			e.lp.AddField("memory_rss", lineprotocol.IntValue(int64(10<<20+x%(500<<20))))
		}
		e.lp.EndLine(time.Unix(0, f.start+interval*f.step))
	}
	if err := e.lp.Err(); err != nil {
		return nil, fmt.Errorf("encoding agent %s's points: %w", ag.node, err)
	}
	return e.lp.Bytes(), nil
}

// The fields of plugins/system, in the order its points carry them (cpu
// in cpuFields' order, the others sorted by key, as the SDK sorts a map):
// percentages are floats, sizes and counts integers.
var systemFieldsOf = map[string][]systemField{
	"cpu": floats("usage_user", "usage_system", "usage_idle", "usage_iowait", "usage_irq", "usage_softirq",
		"usage_steal", "usage_nice", "usage_guest", "usage_guest_nice", "usage_active"),
	"mem": {{"available", false}, {"available_percent", true}, {"buffers", false}, {"cached", false},
		{"free", false}, {"total", false}, {"used", false}, {"used_percent", true}},
	"disk": {{"free", false}, {"inodes_free", false}, {"inodes_total", false}, {"inodes_used", false},
		{"total", false}, {"used", false}, {"used_percent", true}},
}

type systemField struct {
	key   string
	float bool
}

func floats(keys ...string) []systemField {
	fs := make([]systemField, len(keys))
	for i, k := range keys {
		fs[i] = systemField{k, true}
	}
	return fs
}

// addSystemFields adds the fields plugins/system gives measurement m,
// each value drawn from x.
func addSystemFields(lp *lineprotocol.Encoder, m string, x uint64) {
	for i, f := range systemFieldsOf[m] {
		y := mix(x + uint64(i))
		if f.float {
			lp.AddField(f.key, percent(y))
		} else {
			lp.AddField(f.key, lineprotocol.IntValue(int64(1<<30+y%(500<<30))))
		}
	}
}

// percent is a float in [0, 100) with every digit a real collector's
// division gives (such values compress like real ones).
func percent(x uint64) lineprotocol.Value {
	v, _ := lineprotocol.FloatValue(float64(x>>11) / (1 << 53) * 100) // always finite
	return v
}

// mix is splitmix64's finaliser: a cheap, well-spread hash.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// benchSpecs is the bench pool: bodies of size points, agent after agent
// (body i is agent i mod agents' batch i / agents), enough for points
// points in all.
func benchSpecs(agents, size int, points int64) []batchSpec {
	n := int(max(1, (points+int64(size)-1)/int64(size)))
	specs := make([]batchSpec, n)
	for i := range specs {
		specs[i] = batchSpec{agent: i % agents, first: int64(i/agents) * int64(size), n: size}
	}
	return specs
}

// benchStart places interval 0 so that the last interval the pool can
// reach is a step before now: the points are recent and in the past.
func benchStart(now time.Time, agents, series, size int, points int64, step time.Duration) time.Time {
	perAgent := (points/int64(size)/int64(agents) + 1) * int64(size)
	intervals := perAgent/int64(series) + 1
	return now.Truncate(time.Second).Add(-time.Duration(intervals+1) * step)
}

// soakSpecs gives each soak agent `batches` bodies, each one collection
// interval (all the agent's series); the result is indexed by agent and
// then batch.
func soakSpecs(f *fleet, batches int) []batchSpec {
	var specs []batchSpec
	for a, ag := range f.agents {
		s := len(ag.series)
		for b := range batches {
			specs = append(specs, batchSpec{agent: a, first: int64(b * s), n: s})
		}
	}
	return specs
}

// poolSize is the number of points the bench pool holds: rate points/s
// for d, at least one body per agent and connection.
func poolSize(rate int, d time.Duration, size, agents, conns int) int64 {
	p := int64(math.Ceil(float64(rate) * d.Seconds()))
	return max(p, int64(size)*int64(max(agents, conns)))
}
