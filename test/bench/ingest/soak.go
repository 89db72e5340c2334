package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// soakJitter is how far each soak request may come before or after its
// agent's interval.
const soakJitter = time.Second

// soakReport is what the soak prints.
type soakReport struct {
	Agents      int            `json:"agents"`
	Interval    string         `json:"interval"`
	Seconds     float64        `json:"seconds"`
	Requests    int64          `json:"requests"`
	AckedPoints int64          `json:"points_acked"`
	AckedRate   float64        `json:"points_per_second_acked"`
	Errors      map[string]int `json:"errors"`
	FirstError  string         `json:"first_error,omitempty"`
	PushedBack  int64          `json:"pushed_back"`
	HeldBack    int64          `json:"held_back"` // pushed back past the soak's end: kept by the agents
	Latency     latency        `json:"latency"`
	CPUCores    float64        `json:"registry_cpu_cores"`
	Generator   float64        `json:"generator_cpu_cores"`
	RSS         soakRSS        `json:"registry_rss"`
	Targets     []target       `json:"targets"`
	Met         bool           `json:"met"`
}

// soakRSS is the registry's RSS over the soak, in MiB.
type soakRSS struct {
	Every10s []float64 `json:"every_10s_mib"` // at 0 s (before the load), 10 s, 20 s, …
	First    float64   `json:"first_mib"`     // at 10 s
	Last     float64   `json:"last_mib"`
	Max      float64   `json:"max_mib"`
	// Growth is the largest RSS of the second half of the soak over the
	// largest of its first half, leaving out the first 10 s (or quarter).
	Growth float64 `json:"growth"`
}

// runSoak runs the soak: agents agents each posting one batch of one
// collection interval every interval, against the embedded registry.
func (b *bench) runSoak(ctx context.Context) (*soakReport, error) {
	dir := filepath.Join(b.work, "soak")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	client := newClient(4)
	defer client.CloseIdleConnections()
	fmt.Fprintf(b.log, "soak: starting vigil-registry\n")
	reg, err := startRegistry(ctx, b.registry, dir, "")
	if err != nil {
		return nil, err
	}
	defer reg.stop()
	tokens, err := reg.agentTokens(ctx, client, b.nodes())
	if err != nil {
		return nil, err
	}
	ep := endpoint{url: reg.url + "/v1/write", tokens: tokens, batchID: fmt.Sprintf("soak-%d", time.Now().UnixNano())}
	if err := b.setupApproved(ctx, client, reg, ep, "soak"); err != nil {
		return nil, fmt.Errorf("%w; registry log:\n%s", err, tail(reg.logPath))
	}
	perAgent := make([][]batch, len(b.fleet.agents))
	per := len(b.pool) / len(perAgent)
	for a := range perAgent {
		perAgent[a] = b.pool[a*per : (a+1)*per]
	}

	fmt.Fprintf(b.log, "soak: %d agents, one batch every %s (±%s) each, for %s\n", len(perAgent), b.o.interval, soakJitter, b.o.duration)
	servers := []server{{name: "registry", pid: reg.pid}}
	p := proc{root: "/proc"}
	rss := startRSS(p, servers, rssPeriod)
	before := markCPU(p, servers)
	lr := soakLoad(ctx, ep, perAgent, b.o.interval, soakJitter, time.Now().Add(b.o.duration))
	after := markCPU(p, servers)
	samples := rss.stop()
	if ctx.Err() != nil {
		return nil, errors.New("interrupted")
	}
	r := &soakReport{
		Agents: len(perAgent), Interval: b.o.interval.String(), Seconds: lr.end.Sub(lr.start).Seconds(),
		Requests: lr.requests, AckedPoints: lr.acked, Errors: lr.errors, FirstError: lr.firstError, PushedBack: lr.pushedBack, HeldBack: lr.heldBack,
		Latency: summarize(lr.latencies), CPUCores: cores(before, after)[0], Generator: selfCores(before, after),
		RSS: soakMemory(samples, 10*time.Second),
	}
	r.AckedRate = float64(r.AckedPoints) / r.Seconds
	if !reg.alive() {
		return r, fmt.Errorf("vigil-registry died during the soak; its log:\n%s", tail(reg.logPath))
	}
	r.checkTargets()
	return r, nil
}

// soakMemory summarizes the registry's RSS samples (server 0) at every
// `every` from the start.
func soakMemory(samples []rssSample, every time.Duration) soakRSS {
	var out soakRSS
	var firstHalf, secondHalf float64
	if len(samples) == 0 {
		return out
	}
	end := samples[len(samples)-1].at
	warm := min(every, end/4) // the registry's start, left out of the halves
	next := time.Duration(0)
	for _, s := range samples {
		mib := float64(s.kib[0]) / 1024
		if s.at >= next {
			out.Every10s = append(out.Every10s, mib)
			next += every
		}
		out.Max = max(out.Max, mib)
		switch {
		case s.at < warm:
		case s.at < end/2:
			firstHalf = max(firstHalf, mib)
		default:
			secondHalf = max(secondHalf, mib)
		}
	}
	if len(out.Every10s) > 1 {
		out.First = out.Every10s[1]
	}
	out.Last = float64(samples[len(samples)-1].kib[0]) / 1024
	if firstHalf > 0 {
		out.Growth = secondHalf / firstHalf
	}
	return out
}

func (r *soakReport) checkTargets() {
	errs := 0
	for _, n := range r.Errors {
		errs += n
	}
	r.Targets = []target{
		{Name: "errors", Measured: float64(errs), Limit: "= 0", OK: errs == 0},
		{Name: "RSS max 2nd half / max 1st half", Measured: r.RSS.Growth, Limit: fmt.Sprintf("≤ %.1f", soakRSSGrowthLimit),
			OK: r.RSS.Growth > 0 && r.RSS.Growth <= soakRSSGrowthLimit},
		{Name: "registry RSS max (MiB)", Measured: r.RSS.Max, Limit: fmt.Sprintf("≤ %.0f", registryRSSLimitMiB), OK: r.RSS.Max <= registryRSSLimitMiB},
	}
	r.Met = true
	for _, t := range r.Targets {
		r.Met = r.Met && t.OK
	}
}

func (r *soakReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "soak: %d agents, one batch every %s each, %.1fs against the embedded registry\n", r.Agents, r.Interval, r.Seconds)
	fmt.Fprintf(w, "  %d requests, %s points acked (%s points/s); errors: %s\n",
		r.Requests, thousands(float64(r.AckedPoints)), thousands(r.AckedRate), errorText(r.Errors))
	if r.FirstError != "" {
		fmt.Fprintf(w, "  first error: %s\n", r.FirstError)
	}
	if r.HeldBack > 0 {
		fmt.Fprintf(w, "  held back: %d bodies answered 429/503 too late to retry before the end\n", r.HeldBack)
	}
	if r.PushedBack > 0 {
		fmt.Fprintf(w, "  pushed back: %d requests answered 429/503 and retried after Retry-After\n", r.PushedBack)
	}
	fmt.Fprintf(w, "  latency p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", r.Latency.P50, r.Latency.P99, r.Latency.Max)
	fmt.Fprintf(w, "  CPU cores: registry %.2f; generator %.2f\n", r.CPUCores, r.Generator)
	var rss []string
	for _, v := range r.RSS.Every10s {
		rss = append(rss, fmt.Sprintf("%.0f", v))
	}
	fmt.Fprintf(w, "  registry RSS every 10s (MiB, from before the load): %s\n", strings.Join(rss, " "))
	fmt.Fprintf(w, "  registry RSS first %.0f MiB (at 10s), last %.0f MiB, max %.0f MiB\n", r.RSS.First, r.RSS.Last, r.RSS.Max)
	writeTargets(w, r.Targets, r.Met)
}
