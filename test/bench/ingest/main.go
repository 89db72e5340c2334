package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
)

// Exit codes.
const (
	exitMet    = 0 // measured, every target met
	exitError  = 1 // could not measure (a phase failed)
	exitUsage  = 2
	exitMissed = 3 // measured, some target missed
)

type options struct {
	duration    time.Duration
	connections int
	batch       int
	points      string // a fieldSet
	agents      int
	modes       []string
	soak        bool
	interval    time.Duration // soak: each agent's interval
	format      string
	registryBin string
	poolRate    int
	landTimeout time.Duration
	keep        bool
}

func parseArgs(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := pflag.NewFlagSet("ingest", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: go run ./test/bench/ingest [options]

  Measures line-protocol ingest, phase after phase, each with fresh
  servers: influxdb (a private influxd), embedded (vigil-registry with its
  embedded metrics store), forward (vigil-registry forwarding to a private
  influxd). Simulated agents post gzip batches over a few connections; the
  bodies are generated before the clock starts. Prints points/s, server CPU
  and RSS, latency, errors and the ratios against the targets.

  With --soak: many agents (default 1000) each post one batch of 100-200
  points every --interval against the embedded registry (default 2m).

  Exit status: 0 targets met, 3 a target missed, 1 a phase failed, 2 bad
  usage.

Options:
`)
		fs.PrintDefaults()
	}
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "length of each phase (default 2m with --soak)")
	fs.IntVar(&o.connections, "connections", 4, "concurrent connections of the load")
	fs.IntVar(&o.batch, "batch", 5000, "points per request body")
	fs.StringVar(&o.points, "points", string(systemFields), "fields of each point: system (those plugins/system writes, 7-11 a point) or light (3 a point)")
	fs.IntVar(&o.agents, "agents", 50, "simulated agents, each its own node, token and series (default 1000 with --soak)")
	fs.StringSliceVar(&o.modes, "modes", allModes, "phases to run, in this order: "+strings.Join(allModes, ","))
	fs.BoolVar(&o.soak, "soak", false, "run the soak instead of the throughput phases")
	fs.DurationVar(&o.interval, "interval", 10*time.Second, "soak: time between two batches of one agent")
	fs.StringVar(&o.format, "format", "text", "text or json")
	fs.StringVar(&o.registryBin, "registry-bin", "", "the vigil-registry binary (default: go build ./registry/cmd/vigil-registry)")
	fs.IntVar(&o.poolRate, "pool-rate", 500_000, "points/s the pre-generated bodies last for --duration; a faster phase ends early")
	fs.DurationVar(&o.landTimeout, "land-timeout", 3*time.Minute, "forward: longest wait after the load for the acked points to land in InfluxDB")
	fs.BoolVar(&o.keep, "keep", false, "keep the working directory (server data and logs) and print its path")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.soak {
		if !fs.Changed("duration") {
			o.duration = 2 * time.Minute
		}
		if !fs.Changed("agents") {
			o.agents = 1000
		}
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case o.format != "text" && o.format != "json":
		return o, fmt.Errorf("--format must be text or json, not %q", o.format)
	case o.duration < time.Second || o.duration > time.Hour:
		return o, fmt.Errorf("--duration must be between 1s and 1h, not %s", o.duration)
	case o.connections < 1 || o.connections > 256:
		return o, fmt.Errorf("--connections must be between 1 and 256, not %d", o.connections)
	case o.batch < 1 || o.batch > 1_000_000:
		return o, fmt.Errorf("--batch must be between 1 and 1000000, not %d", o.batch)
	case o.agents < 1 || o.agents > 10_000:
		return o, fmt.Errorf("--agents must be between 1 and 10000, not %d", o.agents)
	case o.soak && (o.interval < 100*time.Millisecond || o.interval > o.duration):
		return o, fmt.Errorf("--interval must be between 100ms and --duration, not %s", o.interval)
	case !slices.Contains(fieldSets, o.points):
		return o, fmt.Errorf("--points must be %s, not %q", strings.Join(fieldSets, " or "), o.points)
	case o.soak && fs.Changed("points"):
		return o, errors.New("--points does not apply to --soak (its points are light)")
	case o.poolRate < 1000:
		return o, fmt.Errorf("--pool-rate must be at least 1000, not %d", o.poolRate)
	case o.landTimeout < time.Second:
		return o, fmt.Errorf("--land-timeout must be at least 1s, not %s", o.landTimeout)
	case o.soak && fs.Changed("modes"):
		return o, errors.New("--modes does not apply to --soak (it runs the embedded registry)")
	}
	seen := map[string]bool{}
	for _, m := range o.modes {
		if !slices.Contains(allModes, m) {
			return o, fmt.Errorf("--modes: unknown mode %q (want %s)", m, strings.Join(allModes, ", "))
		}
		if seen[m] {
			return o, fmt.Errorf("--modes: %q twice", m)
		}
		seen[m] = true
	}
	if len(o.modes) == 0 {
		return o, errors.New("--modes: no mode")
	}
	return o, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal the servers are stopped in order; a
		// second one kills this command (and them, by Pdeathsig).
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseArgs(args, stderr)
	if errors.Is(err, pflag.ErrHelp) {
		return exitMet
	}
	if err != nil {
		fmt.Fprintf(stderr, "ingest: %v\n", err)
		return exitUsage
	}
	if runtime.GOOS != "linux" {
		fmt.Fprintln(stderr, "ingest: reads /proc; Linux only")
		return exitError
	}
	work, err := os.MkdirTemp("", "vigil-bench-ingest-")
	if err != nil {
		fmt.Fprintf(stderr, "ingest: %v\n", err)
		return exitError
	}
	if o.keep {
		fmt.Fprintf(stderr, "working directory: %s\n", work)
	} else {
		defer os.RemoveAll(work)
	}
	b := &bench{o: o, work: work, log: stderr, registry: o.registryBin}
	needRegistry := o.soak || slices.Contains(o.modes, modeEmbedded) || slices.Contains(o.modes, modeForward)
	if needRegistry && b.registry == "" {
		if b.registry, err = buildBinary(ctx, work, "vigil-registry", registryPkg, stderr); err != nil {
			fmt.Fprintf(stderr, "ingest: %v\n", err)
			return exitError
		}
	}
	if needRegistry {
		if b.release, err = prepareRelease(ctx, work, stderr); err != nil {
			fmt.Fprintf(stderr, "ingest: %v\n", err)
			return exitError
		}
	}
	var (
		rep    interface{ writeText(io.Writer) }
		met    bool
		failed error
	)
	if o.soak {
		var r *soakReport
		r, failed = b.soak(ctx)
		if r != nil {
			rep, met = r, r.Met
		}
	} else {
		var r *benchReport
		r, failed = b.phases(ctx)
		rep, met = r, r.Met
	}
	if rep != nil {
		if o.format == "json" {
			out, _ := json.MarshalIndent(rep, "", "  ")
			fmt.Fprintln(stdout, string(out))
		} else {
			rep.writeText(stdout)
		}
	}
	switch {
	case failed != nil:
		fmt.Fprintf(stderr, "ingest: %v\n", failed)
		return exitError
	case !met:
		return exitMissed
	}
	return exitMet
}

// Packages of the binaries the bench builds.
const (
	registryPkg = "github.com/vigilmon/vigil/registry/cmd/vigil-registry"
	vigilPkg    = "github.com/vigilmon/vigil/agent/cmd/vigil"
)

// buildBinary builds the command pkg as `make build` does, into dir/name.
func buildBinary(ctx context.Context, dir, name, pkg string, log io.Writer) (string, error) {
	out := filepath.Join(dir, name)
	fmt.Fprintln(log, "building "+name)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-tags", "grpcnotrace", "-ldflags", "-s -w", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building %s (run from the repository): %w", name, err)
	}
	return out, nil
}

// phases generates the pool and runs each phase; a phase that fails is
// reported and the next one still runs.
func (b *bench) phases(ctx context.Context) (*benchReport, error) {
	o := b.o
	points := poolSize(o.poolRate, o.duration, o.batch, o.agents, o.connections)
	step := time.Second
	sh := benchShape(fieldSet(o.points))
	series := len(newFleet(1, sh, time.Time{}, step).agents[0].series)
	b.fleet = newFleet(o.agents, sh, benchStart(time.Now(), o.agents, series, o.batch, points, step), step)
	r := &benchReport{Settings: settings{
		Duration: o.duration.String(), Connections: o.connections, Batch: o.batch, Points: o.points, Agents: o.agents,
		Series: o.agents * series, Modes: o.modes, CPUs: runtime.NumCPU(),
	}}
	fmt.Fprintf(b.log, "generating %d bodies of %d points\n", (points+int64(o.batch)-1)/int64(o.batch), o.batch)
	start := time.Now()
	pool, err := b.fleet.generate(ctx, benchSpecs(o.agents, o.batch, points))
	if err != nil {
		return r, err
	}
	b.pool = pool
	r.Generation = describePool(pool, time.Since(start).Seconds())
	var errs []error
	for _, m := range allModes {
		if !slices.Contains(o.modes, m) {
			continue
		}
		if ctx.Err() != nil {
			errs = append(errs, errors.New("interrupted"))
			break
		}
		p, err := b.runPhase(ctx, m)
		if p != nil {
			r.Phases = append(r.Phases, p)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("phase %s: %w", m, err))
			r.Failures = append(r.Failures, fmt.Sprintf("%s: %v", m, err))
		}
		if !o.keep {
			_ = os.RemoveAll(filepath.Join(b.work, m))
		}
		syscall.Sync() // the next phase does not pay for this one's writeback
	}
	r.checkTargets()
	return r, errors.Join(errs...)
}

// soak generates the soak's bodies and runs it.
func (b *bench) soak(ctx context.Context) (*soakReport, error) {
	o := b.o
	b.fleet = newFleet(o.agents, soakShape, time.Now().Truncate(time.Second), o.interval)
	batches := int(o.duration/o.interval) + 2
	fmt.Fprintf(b.log, "generating %d bodies (%d per agent)\n", batches*o.agents, batches)
	pool, err := b.fleet.generate(ctx, soakSpecs(b.fleet, batches))
	if err != nil {
		return nil, err
	}
	b.pool = pool
	return b.runSoak(ctx)
}
