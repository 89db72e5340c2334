package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// The modes, in the order they run.
const (
	modeInflux   = "influxdb" // InfluxDB alone
	modeEmbedded = "embedded" // the registry with its embedded metrics store
	modeForward  = "forward"  // the registry forwarding to InfluxDB
)

var allModes = []string{modeInflux, modeEmbedded, modeForward}

// rssPeriod is how often server RSS is sampled.
const rssPeriod = 250 * time.Millisecond

// bench is one run of the throughput phases.
type bench struct {
	o        options
	registry string   // the vigil-registry binary
	release  *release // what the registry's phases publish and approve
	work     string   // the temporary directory; one subdirectory per phase
	fleet    *fleet
	pool     []batch
	log      io.Writer
}

// phaseReport is what one phase measured.
type phaseReport struct {
	Mode          string  `json:"mode"`
	Seconds       float64 `json:"seconds"` // first request to last answer
	Requests      int64   `json:"requests"`
	Bodies        int64   `json:"bodies_acked"`
	AckedPoints   int64   `json:"points_acked"`
	AckedRate     float64 `json:"points_per_second_acked"`
	PoolRanOut    bool    `json:"pool_ran_out,omitempty"`
	Landed        *landed `json:"landed,omitempty"`
	Servers       []usage `json:"servers"`
	ServerCores   float64 `json:"server_cpu_cores"`
	GeneratorCore float64 `json:"generator_cpu_cores"`
	Latency       latency `json:"latency"`
	// Errors counts failed requests by HTTP status, or "timeout" and
	// "transport"; FirstError is the first one's answer.
	Errors     map[string]int `json:"errors"`
	FirstError string         `json:"first_error,omitempty"`
	// PushedBack counts 429/503 answers retried after Retry-After;
	// HeldBack the bodies pushed back past the phase's end (an agent
	// keeps them in its spool), after which their connection stopped.
	PushedBack int64 `json:"pushed_back"`
	HeldBack   int64 `json:"held_back"`
}

// landed is, for forward, what reached InfluxDB.
type landed struct {
	Points   int64   `json:"points"`
	Seconds  float64 `json:"seconds"` // from the first request until all acked points were counted
	Rate     float64 `json:"points_per_second"`
	Complete bool    `json:"complete"` // every acked point landed within the wait
	// Cores is the servers' CPU over the whole time to land (same order
	// as Servers).
	Cores []float64 `json:"server_cpu_cores"`
}

// usage is one server's CPU and memory during the load.
type usage struct {
	Name      string  `json:"name"`
	Pid       int     `json:"pid"`
	CPUCores  float64 `json:"cpu_cores"`
	RSSMaxMiB float64 `json:"rss_max_mib"`
}

// runPhase sets up mode's servers from scratch, runs the load and tears
// the servers down.
func (b *bench) runPhase(ctx context.Context, mode string) (*phaseReport, error) {
	dir := filepath.Join(b.work, mode)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	client := newClient(b.o.connections + 2)
	defer client.CloseIdleConnections()
	var (
		ep      endpoint
		servers []server
		inf     *influx
		reg     *registry
	)
	if mode == modeInflux || mode == modeForward {
		fmt.Fprintf(b.log, "%s: starting influxd\n", mode)
		var err error
		if inf, err = startInflux(filepath.Join(dir, "influxd")); err != nil {
			return nil, err
		}
		defer inf.stop()
		db := "bench"
		if mode == modeForward {
			db = "vigil"
		}
		if _, err := influxQuery(ctx, client, inf.URL, "", "CREATE DATABASE "+db); err != nil {
			return nil, err
		}
		ep = endpoint{url: inf.URL + "/write?db=" + db + "&precision=ns"}
		servers = append(servers, server{name: "influxd", pid: inf.Pid})
	}
	if mode == modeEmbedded || mode == modeForward {
		config := "" // the embedded store is the default
		if mode == modeForward {
			config = fmt.Sprintf("metrics \"influxdb\" {\n  url      = %q\n  database = \"vigil\"\n  gzip     = false # same host: compressing costs both sides CPU\n}\n", inf.URL)
		}
		fmt.Fprintf(b.log, "%s: starting vigil-registry\n", mode)
		var err error
		if reg, err = startRegistry(ctx, b.registry, dir, config); err != nil {
			return nil, err
		}
		defer reg.stop()
		tokens, err := reg.agentTokens(ctx, client, b.nodes())
		if err != nil {
			return nil, err
		}
		ep = endpoint{url: reg.url + "/v1/write", tokens: tokens}
		servers = append([]server{{name: "registry", pid: reg.pid}}, servers...)
	}
	ep.batchID = fmt.Sprintf("bench-%s-%d", mode, time.Now().UnixNano())
	if reg != nil {
		if err := b.setupApproved(ctx, client, reg, ep, mode); err != nil {
			return nil, fmt.Errorf("%w; registry log:\n%s", err, tail(reg.logPath))
		}
	} else if err := probe(ctx, client, ep, b.fleet.agents[0].node); err != nil {
		return nil, err
	}

	fmt.Fprintf(b.log, "%s: %d agents posting %d-point gzip batches over %d connections for %s\n",
		mode, b.o.agents, b.o.batch, b.o.connections, b.o.duration)
	p := proc{root: "/proc"}
	rss := startRSS(p, servers, rssPeriod)
	before := markCPU(p, servers)
	lr := runLoad(ctx, client, ep, b.pool, b.o.connections, time.Now().Add(b.o.duration))
	after := markCPU(p, servers)
	rep := &phaseReport{
		Mode: mode, Seconds: lr.end.Sub(lr.start).Seconds(), Requests: lr.requests,
		Bodies: lr.bodies, AckedPoints: lr.acked, PoolRanOut: lr.ranOut,
		GeneratorCore: selfCores(before, after), Latency: summarize(lr.latencies),
		Errors: lr.errors, FirstError: lr.firstError, PushedBack: lr.pushedBack, HeldBack: lr.heldBack,
	}
	rep.AckedRate = float64(lr.acked) / rep.Seconds
	if ctx.Err() != nil {
		rss.stop()
		return nil, errors.New("interrupted")
	}
	if lr.ranOut {
		fmt.Fprintf(b.log, "%s: every pre-generated body was sent after %.1fs; raise --pool-rate for a full-length phase\n", mode, rep.Seconds)
	}
	if mode == modeForward {
		fmt.Fprintf(b.log, "%s: %d points acked; waiting (at most %s) for them to land in InfluxDB\n", mode, lr.acked, b.o.landTimeout)
		rep.Landed = waitLanded(ctx, client, inf.URL, "vigil", lr.acked, 1, lr.start, b.o.landTimeout)
		rep.Landed.Cores = cores(before, markCPU(p, servers))
		if ctx.Err() != nil {
			rss.stop()
			return nil, errors.New("interrupted")
		}
	}
	samples := rss.stop()
	load := cores(before, after)
	for i, s := range servers {
		u := usage{Name: s.name, Pid: s.pid, CPUCores: load[i], RSSMaxMiB: float64(maxKiB(samples, i)) / 1024}
		rep.Servers = append(rep.Servers, u)
		rep.ServerCores += u.CPUCores
	}
	if reg != nil && !reg.alive() {
		return rep, fmt.Errorf("vigil-registry died during the load; its log:\n%s", tail(reg.logPath))
	}
	return rep, nil
}

// nodes are the simulated agents' node names.
func (b *bench) nodes() []string {
	out := make([]string, len(b.fleet.agents))
	for i, a := range b.fleet.agents {
		out[i] = a.node
	}
	return out
}

// probe checks that the endpoint takes a write before the clock starts:
// one point of the first agent, in a measurement the counts leave out.
func probe(ctx context.Context, c *http.Client, ep endpoint, node string) error {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	fmt.Fprintf(zw, "bench_probe,node=%s,plugin=system ok=1i %d\n", node, time.Now().UnixNano())
	if err := zw.Close(); err != nil {
		return fmt.Errorf("gzipping the probe: %w", err)
	}
	b := batch{agent: 0, points: 1, gz: buf.Bytes()}
	status, msg, _, err := post(ctx, c, ep, &b, ep.batchID+"-probe", newTally())
	if err != nil {
		return fmt.Errorf("probing %s: %w", ep.url, err)
	}
	if status/100 != 2 {
		return fmt.Errorf("probing %s: %d %s", ep.url, status, msg)
	}
	return nil
}

// waitLanded waits until InfluxDB holds the acked points, at most
// timeout, and reports the rate from start until then. InfluxDB's own
// count of points written into db (/debug/vars, cheap: polled every
// 100 ms, and probes points more than acked) says when; a count query (a
// second or more on millions of points) then checks that they are all
// there, and is repeated every 2 s if not (a batch forwarded twice
// overwrites its points).
func waitLanded(ctx context.Context, c *http.Client, base, db string, acked, probes int64, start time.Time, timeout time.Duration) *landed {
	deadline := time.Now().Add(timeout)
	l := &landed{}
	wait := func(d time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(min(d, time.Until(deadline))):
			return time.Now().Before(deadline)
		}
	}
	for {
		n, err := shardWrites(ctx, c, base, db)
		if err == nil && n >= acked+probes {
			break
		}
		if !wait(100 * time.Millisecond) {
			break
		}
	}
	for {
		at := time.Now()
		n, err := countPoints(ctx, c, base, db)
		if err == nil {
			l.Points = n
			l.Seconds = at.Sub(start).Seconds()
			l.Rate = float64(n) / l.Seconds
			if n >= acked {
				l.Complete = true
				return l
			}
		}
		if !wait(2 * time.Second) {
			return l
		}
	}
}
