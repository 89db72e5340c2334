package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// The targets of issue 4 (make bench-ingest).
const (
	embeddedRatioTarget = 1.5   // embedded / influxdb points/s
	forwardRatioTarget  = 0.9   // forward landed / influxdb points/s
	registryRSSLimitMiB = 250.0 // registry RSS under that load
	soakRSSGrowthLimit  = 1.2   // soak: max RSS of the second half / of the first half
)

// benchReport is what the throughput phases print.
type benchReport struct {
	Settings   settings       `json:"settings"`
	Generation generation     `json:"generation"`
	Phases     []*phaseReport `json:"phases"`
	Targets    []target       `json:"targets"`
	Met        bool           `json:"met"`
	// Failures are the phases that could not be measured, and why.
	Failures []string `json:"failures,omitempty"`
}

type settings struct {
	Duration    string   `json:"duration_per_phase"`
	Connections int      `json:"connections"`
	Batch       int      `json:"batch_points"`
	Points      string   `json:"points"` // the field set: system or light
	Agents      int      `json:"agents"`
	Series      int      `json:"series"`
	Modes       []string `json:"modes"`
	CPUs        int      `json:"cpus"`
}

// generation is the pre-generated pool of bodies.
type generation struct {
	Bodies  int     `json:"bodies"`
	Points  int64   `json:"points"`
	RawMiB  float64 `json:"line_protocol_mib"`
	GzipMiB float64 `json:"gzip_mib"`
	Seconds float64 `json:"seconds"`
}

func describePool(pool []batch, seconds float64) generation {
	g := generation{Bodies: len(pool), Seconds: seconds}
	for _, b := range pool {
		g.Points += int64(b.points)
		g.RawMiB += float64(b.raw) / (1 << 20)
		g.GzipMiB += float64(len(b.gz)) / (1 << 20)
	}
	return g
}

// target is one target checked against what was measured.
type target struct {
	Name     string  `json:"name"`
	Measured float64 `json:"measured"`
	Limit    string  `json:"target"`
	OK       bool    `json:"ok"`
	Note     string  `json:"note,omitempty"`
}

// checkTargets fills r.Targets and r.Met from the phases that ran.
func (r *benchReport) checkTargets() {
	by := map[string]*phaseReport{}
	for _, p := range r.Phases {
		by[p.Mode] = p
	}
	inf := by[modeInflux]
	if e := by[modeEmbedded]; e != nil && inf != nil && inf.AckedRate > 0 {
		v := e.AckedRate / inf.AckedRate
		r.Targets = append(r.Targets, target{Name: "embedded / influxdb (points/s acked)", Measured: v,
			Limit: fmt.Sprintf("≥ %.1f", embeddedRatioTarget), OK: v >= embeddedRatioTarget})
	}
	if f := by[modeForward]; f != nil && f.Landed != nil && inf != nil && inf.AckedRate > 0 {
		v := f.Landed.Rate / inf.AckedRate
		t := target{Name: "forward landed / influxdb (points/s)", Measured: v,
			Limit: fmt.Sprintf("≥ %.1f", forwardRatioTarget), OK: v >= forwardRatioTarget && f.Landed.Complete}
		if !f.Landed.Complete {
			t.Note = fmt.Sprintf("only %d of %d acked points landed within the wait", f.Landed.Points, f.AckedPoints)
		}
		r.Targets = append(r.Targets, t)
	}
	rss, seen := 0.0, false
	for _, p := range r.Phases {
		for _, s := range p.Servers {
			if s.Name == "registry" {
				rss, seen = max(rss, s.RSSMaxMiB), true
			}
		}
	}
	if seen {
		r.Targets = append(r.Targets, target{Name: "registry RSS max (MiB)", Measured: rss,
			Limit: fmt.Sprintf("≤ %.0f", registryRSSLimitMiB), OK: rss <= registryRSSLimitMiB})
	}
	r.Met = true
	for _, t := range r.Targets {
		r.Met = r.Met && t.OK
	}
}

func (r *benchReport) writeText(w io.Writer) {
	s := r.Settings
	fmt.Fprintf(w, "ingest: %d agents (%d series), %d-point gzip batches of %s points, %d connections, %s per phase, %d CPUs\n",
		s.Agents, s.Series, s.Batch, s.Points, s.Connections, s.Duration, s.CPUs)
	g := r.Generation
	fmt.Fprintf(w, "pool: %d bodies, %s points, %.0f MiB of line protocol, %.0f MiB gzipped, generated in %.1fs before the clock\n\n",
		g.Bodies, thousands(float64(g.Points)), g.RawMiB, g.GzipMiB, g.Seconds)
	for _, p := range r.Phases {
		fmt.Fprintf(w, "%-9s %s points/s acked (%s points, %d requests in %.1fs)\n",
			p.Mode, thousands(p.AckedRate), thousands(float64(p.AckedPoints)), p.Requests, p.Seconds)
		if l := p.Landed; l != nil {
			state := "all acked points landed"
			if !l.Complete {
				state = "NOT all acked points landed"
			}
			fmt.Fprintf(w, "          %s points/s landed in InfluxDB (%s points in %.1fs; %s)\n",
				thousands(l.Rate), thousands(float64(l.Points)), l.Seconds, state)
		}
		var cpu, rss []string
		for _, sv := range p.Servers {
			cpu = append(cpu, fmt.Sprintf("%s %.2f", sv.Name, sv.CPUCores))
			rss = append(rss, fmt.Sprintf("%s %.0f MiB", sv.Name, sv.RSSMaxMiB))
		}
		fmt.Fprintf(w, "          CPU cores: %s", strings.Join(cpu, ", "))
		if len(p.Servers) > 1 {
			fmt.Fprintf(w, ", sum %.2f", p.ServerCores)
		}
		fmt.Fprintf(w, "; generator %.2f\n", p.GeneratorCore)
		if l := p.Landed; l != nil {
			var parts []string
			for i, sv := range p.Servers {
				parts = append(parts, fmt.Sprintf("%s %.2f", sv.Name, l.Cores[i]))
			}
			fmt.Fprintf(w, "          CPU cores until landed: %s\n", strings.Join(parts, ", "))
		}
		fmt.Fprintf(w, "          RSS max: %s\n", strings.Join(rss, ", "))
		fmt.Fprintf(w, "          latency p50 %.0f ms, p99 %.0f ms, max %.0f ms; errors: %s\n",
			p.Latency.P50, p.Latency.P99, p.Latency.Max, errorText(p.Errors))
		if p.FirstError != "" {
			fmt.Fprintf(w, "          first error: %s\n", p.FirstError)
		}
		if p.HeldBack > 0 {
			fmt.Fprintf(w, "          held back: %d bodies answered 429/503 too late in the phase to retry (an agent keeps them in its spool)\n", p.HeldBack)
		}
		if p.PushedBack > 0 {
			fmt.Fprintf(w, "          pushed back: %d requests answered 429/503 and retried after Retry-After, as agents do\n", p.PushedBack)
		}
		if p.PoolRanOut {
			fmt.Fprintf(w, "          (the pre-generated bodies ran out before the phase's end)\n")
		}
	}
	for _, f := range r.Failures {
		first, _, _ := strings.Cut(f, "\n")
		fmt.Fprintf(w, "FAILED %s\n", first)
	}
	writeTargets(w, r.Targets, r.Met)
}

func writeTargets(w io.Writer, ts []target, met bool) {
	if len(ts) == 0 {
		return
	}
	fmt.Fprintf(w, "\ntargets:\n")
	for _, t := range ts {
		ok := "ok"
		if !t.OK {
			ok = "MISSED"
		}
		fmt.Fprintf(w, "  %-42s %8.2f  %-7s %s", t.Name, t.Measured, t.Limit, ok)
		if t.Note != "" {
			fmt.Fprintf(w, " (%s)", t.Note)
		}
		fmt.Fprintln(w)
	}
	if met {
		fmt.Fprintln(w, "every target met")
	} else {
		fmt.Fprintln(w, "some target missed")
	}
}

// errorText is errors by status, "none" when empty.
func errorText(errs map[string]int) string {
	if len(errs) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(errs)) {
		parts = append(parts, fmt.Sprintf("%s×%d", k, errs[k]))
	}
	return strings.Join(parts, ", ")
}

// thousands formats v rounded, with thin separators: 1,234,567.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
