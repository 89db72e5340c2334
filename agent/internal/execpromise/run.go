package execpromise

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Defaults applied by Run to zero fields of Spec.
const (
	DefaultKillGrace       = time.Second
	DefaultMaxOutputBytes  = 1 << 20
	DefaultMaxMessageChars = 5000
	// DefaultPath is the PATH of the clean environment a promise runs in.
	DefaultPath = "/usr/sbin:/usr/bin:/sbin:/bin"
)

// The values of Spec.ExitCodes.
const (
	ExitCodesNagios = "nagios" // exit 0–3 are OK, WARNING, CRITICAL, UNKNOWN
	ExitCodesSlapOS = "slapos" // any non-zero exit is CRITICAL
)

// drainTimeout bounds how long Run keeps reading output once the process
// group is gone, in case a process that left the group still holds the pipe.
const drainTimeout = 250 * time.Millisecond

// Spec describes one run of an executable promise.
type Spec struct {
	ID        string        // promise id, given to the process as PROMISE_NAME
	Command   []string      // argv; a Command[0] without "/" is looked up in the run's PATH
	Timeout   time.Duration // 0 = none
	KillGrace time.Duration // SIGTERM to SIGKILL; 0 = DefaultKillGrace
	ExitCodes string        // ExitCodesNagios (default when empty) or ExitCodesSlapOS
	// Env holds "K=V" entries added to the clean environment. It may set PATH
	// (replacing DefaultPath); it cannot set PROMISE_NAME.
	Env             []string
	Dir             string // working directory; "" = the agent's
	MaxOutputBytes  int    // 0 = DefaultMaxOutputBytes
	MaxMessageChars int    // 0 = DefaultMaxMessageChars
}

func (s Spec) withDefaults() Spec {
	if s.KillGrace <= 0 {
		s.KillGrace = DefaultKillGrace
	}
	if s.MaxOutputBytes <= 0 {
		s.MaxOutputBytes = DefaultMaxOutputBytes
	}
	if s.MaxMessageChars <= 0 {
		s.MaxMessageChars = DefaultMaxMessageChars
	}
	if s.ExitCodes == "" {
		s.ExitCodes = ExitCodesNagios
	}
	s.Env = cleanEnv(s)
	return s
}

// cleanEnv is the whole environment of the process: Spec.Env, PATH unless
// Spec.Env sets it, and PROMISE_NAME.
func cleanEnv(s Spec) []string {
	env := make([]string, 0, len(s.Env)+2)
	hasPath := false
	for _, kv := range s.Env {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" || k == "PROMISE_NAME" {
			continue
		}
		hasPath = hasPath || k == "PATH"
		env = append(env, kv)
	}
	if !hasPath {
		env = append(env, "PATH="+DefaultPath)
	}
	return append(env, "PROMISE_NAME="+s.ID)
}

// Run runs the promise once and reports how it went. It never returns an
// error: a promise that cannot even start is an UNKNOWN record. Cancelling
// ctx ends the process group as a timeout does and gives an UNKNOWN record
// with Interrupted set.
func Run(ctx context.Context, spec Spec) Record {
	spec = spec.withDefaults()
	start := time.Now()
	var res outcome
	if ctx.Err() != nil {
		res.interrupted = true // and never started: res.state stays nil
	} else if p, err := startProcess(spec); err != nil {
		res.startErr = err
	} else {
		res = p.wait(ctx, spec)
	}
	end := time.Now()
	rec := Record{Start: start.UTC(), End: end.UTC(), Duration: end.Sub(start)}
	rec.fill(spec, res)
	return rec
}

// outcome is how a run ended, before it is read as a status.
type outcome struct {
	startErr    error
	timedOut    bool
	interrupted bool
	state       *os.ProcessState // nil if the process never started
	output      []byte
	truncated   bool
}

// process is a started promise: its process group leader, the reader of the
// output pipe and the waiter for the leader.
type process struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed once the leader is reaped
	r       *os.File
	out     boundedBuffer
	outDone chan struct{} // closed once the reader stopped
}

func startProcess(spec Spec) (*process, error) {
	if spec.ExitCodes != ExitCodesNagios && spec.ExitCodes != ExitCodesSlapOS {
		return nil, fmt.Errorf("unknown exit_codes %q (want %q or %q)", spec.ExitCodes, ExitCodesNagios, ExitCodesSlapOS)
	}
	if len(spec.Command) == 0 || spec.Command[0] == "" {
		return nil, errors.New("no command to run")
	}
	if spec.Dir != "" {
		// The child's chdir error would read as if the command were missing.
		if fi, err := os.Stat(spec.Dir); err != nil {
			return nil, fmt.Errorf("cannot enter working directory %s: %w", spec.Dir, errors.Unwrap(err))
		} else if !fi.IsDir() {
			return nil, fmt.Errorf("cannot enter working directory %s: not a directory", spec.Dir)
		}
	}
	path, err := lookPath(spec.Command[0], envPath(spec.Env))
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("creating the output pipe: %w", err)
	}
	cmd := &exec.Cmd{
		Path:        path,
		Args:        spec.Command,
		Env:         spec.Env,
		Dir:         spec.Dir,
		Stdout:      w, // the same file for both keeps their order
		Stderr:      w,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		return nil, startError(err, spec)
	}
	p := &process{
		cmd:     cmd,
		exited:  make(chan struct{}),
		r:       r,
		out:     boundedBuffer{max: spec.MaxOutputBytes},
		outDone: make(chan struct{}),
	}
	go func() {
		defer close(p.outDone)
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Read(buf)
			p.out.write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	go func() {
		_ = cmd.Wait() // the exit status is read from cmd.ProcessState
		close(p.exited)
	}()
	return p, nil
}

// wait waits for the leader to exit, the timeout or ctx, makes sure nothing
// of the process group survives, and collects the output.
func (p *process) wait(ctx context.Context, spec Spec) outcome {
	var timeout <-chan time.Time
	if spec.Timeout > 0 {
		t := time.NewTimer(spec.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	var res outcome
	select {
	case <-p.exited:
	case <-timeout:
		res.timedOut = true
	case <-ctx.Done():
		res.interrupted = true
	}
	if res.timedOut || res.interrupted {
		select {
		case <-p.exited: // it finished just in time
			res.timedOut, res.interrupted = false, false
		default:
			p.stop(spec.KillGrace)
		}
	}
	// The leader is gone; whatever it left behind in its group goes too.
	p.signalGroup(syscall.SIGKILL)

	t := time.NewTimer(drainTimeout)
	defer t.Stop()
	select {
	case <-p.outDone:
	case <-t.C:
		// A process outside the group holds the pipe: stop reading.
		_ = p.r.SetReadDeadline(time.Now())
		<-p.outDone
	}
	p.r.Close()
	res.state = p.cmd.ProcessState
	res.output, res.truncated = p.out.b, p.out.truncated
	return res
}

// stop sends SIGTERM to the group and SIGKILL once the group is done (leader
// reaped and output closed) or the grace period ran out, then reaps the
// leader.
func (p *process) stop(grace time.Duration) {
	p.signalGroup(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.exited:
		select {
		case <-p.outDone:
		case <-t.C:
		}
	case <-t.C:
	}
	p.signalGroup(syscall.SIGKILL)
	<-p.exited
}

func (p *process) signalGroup(sig syscall.Signal) {
	// ESRCH (the group is already empty) is the expected outcome, not a failure.
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
}

// boundedBuffer keeps the first max bytes written and counts the rest out.
// Only the reader goroutine writes it; wait reads it after outDone.
type boundedBuffer struct {
	b         []byte
	max       int
	truncated bool
}

func (b *boundedBuffer) write(p []byte) {
	if room := b.max - len(b.b); len(p) > room {
		p, b.truncated = p[:max(room, 0)], true
	}
	b.b = append(b.b, p...)
}

// envPath returns the last PATH of env, as the process will see it.
func envPath(env []string) string {
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	return path
}

// lookPath finds name in the promise's PATH (not the agent's). Names with a
// "/" are used as they are, relative to the working directory.
func lookPath(name, path string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			continue
		}
		f := filepath.Join(dir, name)
		if fi, err := os.Stat(f); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return f, nil
		}
	}
	return "", fmt.Errorf("cannot run %s: executable not found in PATH=%s", name, path)
}

// startError words a failed start for the operator: "cannot run X: permission
// denied" rather than "fork/exec X: permission denied".
func startError(err error, spec Spec) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("cannot run %s: %w", spec.Command[0], err)
}
