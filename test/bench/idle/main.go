package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/spf13/pflag"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/vigilmon/vigil/test/procfs"
)

// The targets of the performance issue for the idle steady state.
const (
	agentRSSLimitKiB  = 20 * 1024 // 20 MiB
	pluginRSSLimitKiB = 12 * 1024 // 12 MiB per plugin
	agentCPULimit     = 1.0       // percent of one core
)

// Exit codes.
const (
	exitMet    = 0 // measured, every target met
	exitError  = 1 // could not measure
	exitUsage  = 2
	exitMissed = 3 // measured, some target missed
)

var plugins = []string{"system", "process", "net"}

type options struct {
	bins     map[string]string // "vigil" and each plugin name to a binary; empty: build
	warmup   time.Duration
	duration time.Duration
	sample   time.Duration
	interval time.Duration
	format   string
	agentEnv []string
	keep     bool
}

type envList []string

func (e *envList) String() string { return strings.Join(*e, " ") }
func (e *envList) Set(v string) error {
	if !strings.Contains(v, "=") {
		return fmt.Errorf("%q is not KEY=VALUE", v)
	}
	*e = append(*e, v)
	return nil
}

func parseArgs(args []string, stderr io.Writer) (options, error) {
	o := options{bins: map[string]string{}}
	fs := pflag.NewFlagSet("idle", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: go run ./test/bench/idle [options]

  Measures the agent and the three first-party plugins idle: it builds the
  binaries (unless given), installs them into a temporary agent directory,
  runs `+"`vigil agent`"+` with every system collector, a process collector and
  promise, and a tcp promise against a local listener, waits for the
  warm-up, then samples VmRSS and CPU time of the agent and of each plugin
  process. It prints a table and a verdict against the targets, stops the
  agent and removes the directory. Exit status: 0 targets met, 3 a target
  missed, 1 the measurement failed, 2 bad usage.

Options:
`)
		fs.PrintDefaults()
	}
	var vigil string
	fs.StringVar(&vigil, "vigil", "", "the vigil binary (default: go build ./agent/cmd/vigil)")
	for _, p := range plugins {
		o.bins[p] = ""
		fs.Func(p+"-plugin", "the "+p+" plugin binary (default: go build ./plugins/"+p+")", func(v string) error {
			o.bins[p] = v
			return nil
		})
	}
	fs.DurationVar(&o.warmup, "warmup", 15*time.Second, "time after the agent starts before sampling")
	fs.DurationVar(&o.duration, "duration", 60*time.Second, "sampling window")
	fs.DurationVar(&o.sample, "sample", time.Second, "time between samples, 100ms to 1s")
	fs.DurationVar(&o.interval, "interval", 10*time.Second, "the agent's collection and check interval")
	fs.StringVar(&o.format, "format", "text", "text or json")
	fs.Var((*envList)(&o.agentEnv), "agent-env", "KEY=VALUE added to the agent's environment, e.g. GOGC=50 (repeatable; plugins inherit GOGC and GOMEMLIMIT)")
	fs.BoolVar(&o.keep, "keep", false, "keep the agent directory (its log and points) and print its path")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.bins["vigil"] = vigil
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case o.format != "text" && o.format != "json":
		return o, fmt.Errorf("--format must be text or json, not %q", o.format)
	case o.sample < 100*time.Millisecond || o.sample > time.Second:
		return o, fmt.Errorf("--sample must be between 100ms and 1s, not %s", o.sample)
	case o.duration < 2*o.sample || o.duration > time.Hour:
		return o, fmt.Errorf("--duration must be between two samples and 1h, not %s", o.duration)
	case o.warmup < 0 || o.warmup > time.Hour:
		return o, fmt.Errorf("--warmup must be between 0 and 1h, not %s", o.warmup)
	case o.interval < time.Second:
		return o, fmt.Errorf("--interval must be at least 1s, not %s", o.interval)
	}
	return o, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
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
		fmt.Fprintf(stderr, "idle: %v\n", err)
		return exitUsage
	}
	if runtime.GOOS != "linux" {
		fmt.Fprintln(stderr, "idle: reads /proc; Linux only")
		return exitError
	}
	rep, err := measure(ctx, o, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "idle: %v\n", err)
		return exitError
	}
	if o.format == "json" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		fmt.Fprintln(stdout, string(b))
	} else {
		rep.writeText(stdout)
	}
	if !rep.Met {
		return exitMissed
	}
	return exitMet
}

// measure sets up the agent directory, runs the agent, samples it and
// stops it. Progress goes to log.
func measure(ctx context.Context, o options, log io.Writer) (*report, error) {
	dir, err := os.MkdirTemp("", "vi")
	if err != nil {
		return nil, err
	}
	if o.keep {
		fmt.Fprintf(log, "agent directory: %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	if err := build(ctx, o.bins, filepath.Join(dir, "bin"), log); err != nil {
		return nil, err
	}

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("opening the tcp promise's listener: %w", err)
	}
	defer lis.Close()
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()

	conf := filepath.Join(dir, "agent.hcl")
	if err := os.WriteFile(conf, []byte(agentConfig(o.interval, lis.Addr().String())), 0o644); err != nil {
		return nil, err
	}
	install := []string{"install", "--config", conf}
	for _, p := range plugins {
		install = append(install, "--from-file", o.bins[p])
	}
	if out, err := exec.CommandContext(ctx, o.bins["vigil"], install...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("vigil install: %w\n%s", err, out)
	}

	logFile, err := os.Create(filepath.Join(dir, "agent.log"))
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	agent := exec.Command(o.bins["vigil"], "agent", "--config", conf)
	agent.Dir = dir
	agent.Env = append(os.Environ(), o.agentEnv...)
	agent.Stdout, agent.Stderr = logFile, logFile
	if err := agent.Start(); err != nil {
		return nil, fmt.Errorf("starting vigil agent: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- agent.Wait() }()
	defer stopAgent(agent, exited, log)

	fmt.Fprintf(log, "agent pid %d started; warming up for %s, then sampling for %s\n", agent.Process.Pid, o.warmup, o.duration)
	select {
	case <-time.After(o.warmup):
	case err := <-exited:
		exited <- err
		return nil, fmt.Errorf("the agent exited during the warm-up (%v); log:\n%s", err, tail(logFile.Name()))
	case <-ctx.Done():
		return nil, errors.New("interrupted")
	}

	s := newSampler(procfs.FS{Root: "/proc"}, agent.Process.Pid)
	if err := s.sample(); err != nil {
		return nil, err
	}
	start := time.Now()
	t := time.NewTicker(o.sample)
	defer t.Stop()
	for time.Since(start) < o.duration {
		select {
		case <-t.C:
		case err := <-exited:
			exited <- err
			return nil, fmt.Errorf("the agent exited while sampled (%v); log:\n%s", err, tail(logFile.Name()))
		case <-ctx.Done():
			return nil, errors.New("interrupted")
		}
		if err := s.sample(); err != nil {
			return nil, err
		}
	}
	rep := s.report(o)
	rep.Points = countLines(filepath.Join(dir, "points.lp"))
	if rep.Points == 0 {
		return nil, fmt.Errorf("the agent wrote no points: the measurement would not be of a working agent; log:\n%s", tail(logFile.Name()))
	}
	return rep, nil
}

// build fills the empty entries of bins with binaries built from this
// repository into dir (one `go build` shares the compilation work).
func build(ctx context.Context, bins map[string]string, dir string, log io.Writer) error {
	pkgs := map[string]string{"vigil": "github.com/vigilmon/vigil/agent/cmd/vigil"}
	for _, p := range plugins {
		pkgs[p] = "github.com/vigilmon/vigil/plugins/" + p
	}
	var names []string
	for name, path := range bins {
		if path == "" {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	slices.Sort(names)
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, n := range names {
		args = append(args, pkgs[n])
	}
	fmt.Fprintf(log, "building %s\n", strings.Join(names, ", "))
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build: %w", err)
	}
	for _, n := range names {
		bins[n] = filepath.Join(dir, filepath.Base(pkgs[n]))
	}
	return nil
}

// agentConfig is the agent.hcl of the idle run: every collector of the
// system plugin, the process plugin watching the agent itself, a tcp
// promise against addr, points to a file.
func agentConfig(interval time.Duration, addr string) string {
	return fmt.Sprintf(`agent {
  node     = "idle"
  data_dir = "data"
  interval = %[1]q
}

plugin "system" {
  version = "0.1.0"
  collect = ["cpu", "memory", "swap", "disk", "diskio", "net", "load", "system"]
}

plugin "process" {
  version = "0.1.0"
  collect = ["process"]
  config  = { names = ["vigil"] }

  promise "agent-running" {
    check  = "running"
    config = { names = ["vigil"], min = 1 }
  }
}

plugin "net" {
  version = "0.1.0"

  promise "local-port" {
    check  = "tcp"
    config = { address = %[2]q }
  }
}

output "file" { path = "points.lp" }
`, interval.String(), addr)
}

// stopAgent sends SIGTERM and waits for the agent, killing it after 20s.
func stopAgent(agent *exec.Cmd, exited chan error, log io.Writer) {
	_ = agent.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		fmt.Fprintln(log, "the agent did not stop within 20s of SIGTERM; killing it")
		_ = agent.Process.Kill()
		<-exited
	}
}

func countLines(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte{'\n'})
}

// tail is the end of the agent's log, for error messages.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// sampler keeps the samples of the agent and of its plugin children.
type sampler struct {
	proc  procfs.FS
	agent int
	procs map[string]*tracked // by name: "agent" or the plugin's
	first time.Time
	last  time.Time
	n     int
}

// tracked is one named process over the window; a plugin restarted by the
// agent shows up under a new pid, so CPU time is summed per pid.
type tracked struct {
	mem   []procfs.Mem // one per sample it was seen in
	ticks map[int][2]int64
}

func newSampler(p procfs.FS, agent int) *sampler {
	return &sampler{proc: p, agent: agent, procs: map[string]*tracked{}}
}

func (s *sampler) sample() error {
	now := time.Now()
	if s.n == 0 {
		s.first = now
	}
	s.last = now
	s.n++
	if err := s.record("agent", s.agent); err != nil {
		return fmt.Errorf("sampling the agent: %w", err)
	}
	kids, err := s.proc.Children(s.agent)
	if err != nil {
		return fmt.Errorf("finding the agent's plugin processes: %w", err)
	}
	for _, pid := range kids {
		cmdline, err := s.proc.Cmdline(pid)
		if err != nil {
			continue // gone since the scan
		}
		name := pluginName(cmdline)
		if name == "" {
			continue
		}
		_ = s.record(name, pid) // a plugin that just exited is simply not sampled
	}
	return nil
}

func (s *sampler) record(name string, pid int) error {
	st, err := s.proc.Stat(pid)
	if err != nil {
		return err
	}
	m, err := s.proc.Mem(pid)
	if err != nil {
		return err
	}
	t := s.procs[name]
	if t == nil {
		t = &tracked{ticks: map[int][2]int64{}}
		s.procs[name] = t
	}
	t.mem = append(t.mem, m)
	span, seen := t.ticks[pid]
	if !seen {
		span[0] = st.Ticks
	}
	span[1] = st.Ticks
	t.ticks[pid] = span
	return nil
}

// report is what the command prints.
type report struct {
	WindowSeconds float64       `json:"window_seconds"`
	Samples       int           `json:"samples"`
	AgentInterval string        `json:"agent_interval"`
	AgentEnv      []string      `json:"agent_env,omitempty"`
	Points        int           `json:"points_written"`
	Processes     []procReport  `json:"processes"`
	Targets       []targetCheck `json:"targets"`
	Met           bool          `json:"met"`
}

type procReport struct {
	Name       string `json:"name"`
	Pids       []int  `json:"pids"`
	Samples    int    `json:"samples"`
	RSSMaxKiB  int64  `json:"rss_max_kib"`
	RSSMeanKiB int64  `json:"rss_mean_kib"`
	// The RSS split at the sample of largest RSS: private memory (heap,
	// stacks) and mapped file pages (the executable's code and data).
	AnonKiB    int64   `json:"rss_anon_kib"`
	FileKiB    int64   `json:"rss_file_kib"`
	CPUPercent float64 `json:"cpu_percent_of_a_core"`
}

type targetCheck struct {
	Target   string  `json:"target"`
	Limit    float64 `json:"limit"`
	Measured float64 `json:"measured"`
	Unit     string  `json:"unit"`
	OK       bool    `json:"ok"`
}

func (s *sampler) report(o options) *report {
	window := s.last.Sub(s.first).Seconds()
	r := &report{WindowSeconds: window, Samples: s.n, AgentInterval: o.interval.String(), AgentEnv: o.agentEnv, Met: true}
	check := func(target string, limit, measured float64, unit string) {
		ok := measured <= limit
		r.Met = r.Met && ok
		r.Targets = append(r.Targets, targetCheck{Target: target, Limit: limit, Measured: measured, Unit: unit, OK: ok})
	}
	for _, name := range append([]string{"agent"}, plugins...) {
		t := s.procs[name]
		if t == nil {
			r.Met = false
			r.Targets = append(r.Targets, targetCheck{Target: name + " running", Unit: "", OK: false})
			continue
		}
		p := procReport{Name: name, Samples: len(t.mem)}
		var sum int64
		for _, m := range t.mem {
			sum += m.RSS
			if m.RSS > p.RSSMaxKiB {
				p.RSSMaxKiB, p.AnonKiB, p.FileKiB = m.RSS, m.Anon, m.File
			}
		}
		p.RSSMeanKiB = sum / int64(len(t.mem))
		var ticks int64
		for pid, span := range t.ticks {
			p.Pids = append(p.Pids, pid)
			ticks += span[1] - span[0]
		}
		slices.Sort(p.Pids)
		if window > 0 {
			p.CPUPercent = float64(ticks) / procfs.ClockTicks / window * 100
		}
		r.Processes = append(r.Processes, p)
		if name == "agent" {
			check("agent RSS (max)", mib(agentRSSLimitKiB), mib(p.RSSMaxKiB), "MiB")
			check("agent CPU", agentCPULimit, p.CPUPercent, "% of a core")
		} else {
			check(name+" plugin RSS (max)", mib(pluginRSSLimitKiB), mib(p.RSSMaxKiB), "MiB")
		}
	}
	return r
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

func (r *report) writeText(w io.Writer) {
	fmt.Fprintf(w, "Idle agent: %d samples over %.1fs, agent interval %s, %d points written", r.Samples, r.WindowSeconds, r.AgentInterval, r.Points)
	if len(r.AgentEnv) > 0 {
		fmt.Fprintf(w, ", agent env %s", strings.Join(r.AgentEnv, " "))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "process\tpids\tRSS max MiB\t(anon\t+ file)\tRSS mean MiB\tCPU % of a core\t")
	for _, p := range r.Processes {
		pids := fmt.Sprint(p.Pids)
		fmt.Fprintf(tw, "%s\t%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.2f\t\n", p.Name, strings.Trim(pids, "[]"),
			mib(p.RSSMaxKiB), mib(p.AnonKiB), mib(p.FileKiB), mib(p.RSSMeanKiB), p.CPUPercent)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "target\tlimit\tmeasured\tverdict")
	for _, t := range r.Targets {
		verdict := "ok"
		if !t.OK {
			verdict = "MISSED"
		}
		if t.Unit == "" {
			fmt.Fprintf(tw, "%s\t\t\t%s\n", t.Target, verdict)
			continue
		}
		fmt.Fprintf(tw, "%s\t%.1f %s\t%.2f %s\t%s\n", t.Target, t.Limit, t.Unit, t.Measured, t.Unit, verdict)
	}
	tw.Flush()
	if r.Met {
		fmt.Fprintln(w, "\nverdict: every idle target met")
	} else {
		fmt.Fprintln(w, "\nverdict: some idle target MISSED")
	}
}

// Type implements pflag.Value.
func (e *envList) Type() string { return "KEY=VALUE" }
