package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vigilmon/vigil/test/influxtest"
)

// childAttr puts a server in its own process group (a terminal's ^C
// reaches only this command, which stops it in order) and has the kernel
// kill it if this command dies.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// registry is a running vigil-registry.
type registry struct {
	url     string
	admin   string // the admin token
	pid     int
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
	once    sync.Once
}

// startRegistry runs bin serve on a free port of 127.0.0.1 with its data
// in dir and config (if not empty) as its registry.hcl, and waits until
// it answers an authenticated request (within 30 s).
func startRegistry(ctx context.Context, bin, dir, config string) (*registry, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 24)
	_, _ = rand.Read(secret) // never fails
	r := &registry{
		url:     fmt.Sprintf("http://127.0.0.1:%d", port),
		admin:   "bench-admin-" + hex.EncodeToString(secret),
		logPath: filepath.Join(dir, "registry.log"),
		exited:  make(chan struct{}),
	}
	args := []string{"serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data", filepath.Join(dir, "data"), "--log-level", "warn"}
	if config != "" {
		path := filepath.Join(dir, "registry.hcl")
		if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
			return nil, fmt.Errorf("writing registry.hcl: %w", err)
		}
		args = append(args, "--config", path)
	}
	logf, err := os.Create(r.logPath)
	if err != nil {
		return nil, fmt.Errorf("creating the registry log: %w", err)
	}
	defer logf.Close() // the child has its own descriptor
	r.cmd = exec.Command(bin, args...)
	r.cmd.Dir = dir
	r.cmd.Env = append(os.Environ(), "VIGIL_REGISTRY_ADMIN_TOKEN="+r.admin)
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	r.cmd.SysProcAttr = childAttr()
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting vigil-registry: %w", err)
	}
	r.pid = r.cmd.Process.Pid
	go func() {
		_ = r.cmd.Wait()
		close(r.exited)
	}()
	if err := r.waitReady(ctx); err != nil {
		r.stop()
		return nil, fmt.Errorf("%w; its log:\n%s", err, tail(r.logPath))
	}
	return r, nil
}

func (r *registry) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.url+"/v1/plugins", nil)
		req.Header.Set("Authorization", "Bearer "+r.admin)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-r.exited:
			return fmt.Errorf("vigil-registry exited at start (%v)", r.cmd.ProcessState)
		case <-ctx.Done():
			return errors.New("interrupted while vigil-registry was starting")
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("vigil-registry did not answer within 30s (last: %s)", last)
		}
	}
}

// stop sends SIGTERM to the registry's process group and waits for it;
// after 30 s (a forwarding queue that will not drain) it kills the group.
// Safe to call twice.
func (r *registry) stop() {
	r.once.Do(func() {
		_ = syscall.Kill(-r.pid, syscall.SIGTERM)
		select {
		case <-r.exited:
		case <-time.After(30 * time.Second):
			_ = syscall.Kill(-r.pid, syscall.SIGKILL)
			<-r.exited
		}
	})
}

// alive reports whether the registry still runs.
func (r *registry) alive() bool {
	select {
	case <-r.exited:
		return false
	default:
		return true
	}
}

// agentTokens creates an agent token bound to each node, over up to 4
// concurrent requests, and returns their secrets in the order of nodes.
func (r *registry) agentTokens(ctx context.Context, c *http.Client, nodes []string) ([]string, error) {
	out := make([]string, len(nodes))
	errs := make([]error, len(nodes))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, node := range nodes {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			out[i], errs[i] = r.agentToken(ctx, c, node)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

func (r *registry) agentToken(ctx context.Context, c *http.Client, node string) (string, error) {
	return r.token(ctx, c, "the token of "+node, map[string]string{"role": "agent", "node": node})
}

// token creates a token as the admin (POST /v1/tokens with req) and
// returns its secret; what names it in errors.
func (r *registry) token(ctx context.Context, c *http.Client, what string, req map[string]string) (string, error) {
	body, _ := json.Marshal(req)
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url+"/v1/tokens", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("creating %s: %w", what, err)
	}
	hreq.Header.Set("Authorization", "Bearer "+r.admin)
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(hreq)
	if err != nil {
		return "", fmt.Errorf("creating %s: %w", what, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("creating %s: %s %s", what, resp.Status, bytes.TrimSpace(b))
	}
	var tok struct {
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal(b, &tok); err != nil || tok.Secret == "" {
		return "", fmt.Errorf("creating %s: no secret in %s", what, b)
	}
	return tok.Secret, nil
}

// influx is a private influxd of one phase, with its log.
type influx struct {
	*influxtest.Server
	logPath string
	logf    *os.File
}

func startInflux(dir string) (*influx, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "influxd.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("creating the influxd log: %w", err)
	}
	srv, err := influxtest.Run(dir, logf)
	if err != nil {
		logf.Close()
		return nil, fmt.Errorf("%w; its log:\n%s", err, tail(logPath))
	}
	return &influx{Server: srv, logPath: logPath, logf: logf}, nil
}

func (i *influx) stop() {
	_ = i.Stop()
	i.logf.Close()
}

// influxQuery runs InfluxQL statements on db and returns the JSON answer.
func influxQuery(ctx context.Context, c *http.Client, base, db, q string) ([]byte, error) {
	form := url.Values{"q": {q}, "epoch": {"ns"}}
	if db != "" {
		form.Set("db", db)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/query", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("querying InfluxDB: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("querying InfluxDB: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading InfluxDB's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("querying InfluxDB %q: %s %s", q, resp.Status, bytes.TrimSpace(b))
	}
	return b, nil
}

// countQuery counts the points of the bench's measurements, one field
// each (every point of a measurement has all its fields).
const countQuery = `SELECT count("usage_user") FROM "cpu"; SELECT count("used") FROM "mem"; SELECT count("used") FROM "disk"; SELECT count("cpu_usage") FROM "procstat"`

// countPoints returns how many points of the bench's measurements db holds.
func countPoints(ctx context.Context, c *http.Client, base, db string) (int64, error) {
	b, err := influxQuery(ctx, c, base, db, countQuery)
	if err != nil {
		return 0, err
	}
	return parseCounts(b)
}

// parseCounts sums every count in InfluxDB's JSON answer to count
// queries; an answer with an error fails.
func parseCounts(b []byte) (int64, error) {
	var ans struct {
		Results []struct {
			Error  string `json:"error"`
			Series []struct {
				Values [][]json.Number `json:"values"`
			} `json:"series"`
		} `json:"results"`
		Error string `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&ans); err != nil {
		return 0, fmt.Errorf("decoding InfluxDB's answer: %w", err)
	}
	if ans.Error != "" {
		return 0, fmt.Errorf("InfluxDB: %s", ans.Error)
	}
	var n int64
	for _, r := range ans.Results {
		if r.Error != "" {
			return 0, fmt.Errorf("InfluxDB: %s", r.Error)
		}
		for _, s := range r.Series {
			for _, row := range s.Values {
				if len(row) < 2 {
					return 0, fmt.Errorf("InfluxDB: a row without a count: %v", row)
				}
				v, err := row[1].Int64()
				if err != nil {
					return 0, fmt.Errorf("InfluxDB: count %q: %w", row[1], err)
				}
				n += v
			}
		}
	}
	return n, nil
}

// shardWrites returns how many points InfluxDB has written into db's
// shards since it started, overwrites included, from /debug/vars.
func shardWrites(ctx context.Context, c *http.Client, base, db string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/debug/vars", nil)
	if err != nil {
		return 0, fmt.Errorf("reading InfluxDB's statistics: %w", err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, fmt.Errorf("reading InfluxDB's statistics: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("reading InfluxDB's statistics: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("reading InfluxDB's statistics: %s", resp.Status)
	}
	return parseShardWrites(b, db)
}

// parseShardWrites sums writePointsOk over db's shards in the content of
// InfluxDB 1.x's /debug/vars.
func parseShardWrites(b []byte, db string) (int64, error) {
	var vars map[string]json.RawMessage
	if err := json.Unmarshal(b, &vars); err != nil {
		return 0, fmt.Errorf("decoding InfluxDB's statistics: %w", err)
	}
	var n int64
	for key, raw := range vars {
		if !strings.HasPrefix(key, "shard:") {
			continue
		}
		var st struct {
			Name   string            `json:"name"`
			Tags   map[string]string `json:"tags"`
			Values struct {
				WritePointsOK int64 `json:"writePointsOk"`
			} `json:"values"`
		}
		if err := json.Unmarshal(raw, &st); err != nil {
			return 0, fmt.Errorf("decoding InfluxDB's statistics of %s: %w", key, err)
		}
		if st.Name == "shard" && st.Tags["database"] == db {
			n += st.Values.WritePointsOK
		}
	}
	return n, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail is the end of a log file, for error messages.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}
