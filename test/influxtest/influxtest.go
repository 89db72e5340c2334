// Package influxtest gives tests a real InfluxDB 1.x: the one at
// $VIGIL_INFLUXDB_URL if set, otherwise a private influxd started on
// 127.0.0.1 with free ports and temporary directories, stopped when the
// test ends. Without influxd the test is skipped on a developer machine and
// fails in CI (CI=true), where .ci/run installs it.
package influxtest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Start returns the base URL of a running InfluxDB.
func Start(t testing.TB) string {
	t.Helper()
	if u := os.Getenv("VIGIL_INFLUXDB_URL"); u != "" {
		return u
	}
	bin, err := exec.LookPath("influxd")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("influxd is not installed; .ci/run installs Debian's influxdb package")
		}
		t.Skip("influxd not installed (apt-get install influxdb); skipping outside CI")
	}
	dir := t.TempDir()
	httpPort, bindPort := freePort(t), freePort(t)
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
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "influxd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-config", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting influxd: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return base
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("influxd did not answer /ping within 30s: %v\n%s", err, b)
		}
		time.Sleep(50 * time.Millisecond)
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

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
