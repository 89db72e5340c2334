// Package influxtest gives tests a real InfluxDB 1.x: the one at
// $VIGIL_INFLUXDB_URL if set, otherwise a private influxd started on
// 127.0.0.1 with free ports and temporary directories, stopped when the
// test ends. Without influxd the test is skipped on a developer machine and
// fails in CI (CI=true), where .ci/run installs it. Run starts the same
// private influxd for a program that is not a test (the ingest benchmark).
package influxtest

import (
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
	"testing"
	"time"
)

// Start returns the base URL of a running InfluxDB.
func Start(t testing.TB) string {
	t.Helper()
	if u := os.Getenv("VIGIL_INFLUXDB_URL"); u != "" {
		return u
	}
	if _, err := exec.LookPath("influxd"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("influxd is not installed; .ci/run installs Debian's influxdb package")
		}
		t.Skip("influxd not installed (apt-get install influxdb); skipping outside CI")
	}
	dir := t.TempDir()
	logf, err := os.Create(filepath.Join(dir, "influxd.log"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Run(dir, logf)
	if err != nil {
		logf.Close()
		b, _ := os.ReadFile(logf.Name())
		t.Fatalf("%v\n%s", err, b)
	}
	t.Cleanup(func() {
		_ = srv.Stop()
		logf.Close()
	})
	return srv.URL
}

// Server is a private influxd started by Run.
type Server struct {
	URL string // base URL, http://127.0.0.1:<port>
	Pid int    // the influxd process, for reading /proc/<pid>

	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd.Wait returns
	once   sync.Once
}

// Run starts influxd with its configuration, metadata, data and WAL in
// dir and its output going to logTo, listening on free ports of
// 127.0.0.1, and returns once it answers /ping (within 30 s). The process
// runs in its own process group and is killed if the calling program dies
// (on Linux); Stop kills it.
func Run(dir string, logTo io.Writer) (*Server, error) {
	bin, err := exec.LookPath("influxd")
	if err != nil {
		return nil, fmt.Errorf("finding influxd: %w", err)
	}
	httpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	bindPort, err := freePort()
	if err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`reporting-disabled = true
bind-address = "127.0.0.1:%d"
[meta]
  dir = %q
[data]
  dir = %q
  wal-dir = %q
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:%d"
  log-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
`, bindPort, filepath.Join(dir, "meta"), filepath.Join(dir, "data"), filepath.Join(dir, "wal"), httpPort)
	cfgPath := filepath.Join(dir, "influxdb.conf")
	if err := os.WriteFile(cfgPath, []byte(conf), 0o600); err != nil {
		return nil, fmt.Errorf("writing influxd configuration: %w", err)
	}
	cmd := exec.Command(bin, "-config", cfgPath)
	cmd.Stdout, cmd.Stderr = logTo, logTo
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting influxd: %w", err)
	}
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", httpPort), Pid: cmd.Process.Pid, cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return s, nil
			}
		}
		select {
		case <-s.exited:
			return nil, errors.New("influxd exited before answering /ping")
		default:
		}
		if time.Now().After(deadline) {
			_ = s.Stop()
			return nil, fmt.Errorf("influxd did not answer /ping within 30s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop kills influxd and its process group and waits for it to exit. It
// is safe to call twice.
func (s *Server) Stop() error {
	s.once.Do(func() {
		killGroup(s.Pid)
		_ = s.cmd.Process.Kill()
	})
	select {
	case <-s.exited:
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("influxd (pid %d) did not exit within 30s of SIGKILL", s.Pid)
	}
}

// Query runs an InfluxQL statement and returns the raw JSON answer.
func Query(t testing.TB, base, db, q string) string {
	t.Helper()
	resp, err := http.PostForm(base+"/query", url.Values{"db": {db}, "q": {q}})
	if err != nil {
		t.Fatalf("query %q: %v", q, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || strings.Contains(string(b), `"error"`) {
		t.Fatalf("query %q: %s %s", q, resp.Status, b)
	}
	return string(b)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
