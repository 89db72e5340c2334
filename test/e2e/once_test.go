package e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/vigilmon/vigil/test/influxtest"
	"github.com/vigilmon/vigil/test/lptest"
)

const nagios = "/usr/lib/nagios/plugins/"

func requireNagiosPlugins(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(nagios + "check_load"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("monitoring-plugins-basic is not installed; .ci/run installs it")
		}
		t.Skip("Debian's monitoring-plugins-basic not installed; skipping outside CI")
	}
}

// `vigil agent --once` with the three first-party plugins, real Nagios
// plugins as executable promises, a file output and a real InfluxDB.
func TestOnceFirstPartyPluginsNagiosAndInfluxDB(t *testing.T) {
	requireNagiosPlugins(t)
	influx := influxtest.Start(t)
	influxtest.Query(t, influx, "", "CREATE DATABASE vigil_e2e")

	open, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	go func() {
		for {
			c, err := open.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedAddr := closed.Addr().String()
	closed.Close()
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hello vigil") }))
	defer web.Close()
	_, openPort, _ := net.SplitHostPort(open.Addr().String())
	_, closedPort, _ := net.SplitHostPort(closedAddr)

	config := fmt.Sprintf(`
agent {
  node     = "e2e"
  data_dir = "data"
  tags     = { site = "ci" }
}
plugin "system" {
  version  = "0.1.0"
  collect = ["cpu", "memory", "load", "system"]
}
plugin "process" {
  version  = "0.1.0"
  collect = ["process"]
  config  = { names = ["vigil"] }
  promise "agent-running" {
    check  = "running"
    config = { names = ["vigil"], min = 1 }
  }
}
plugin "net" {
  version  = "0.1.0"
  promise "tcp-open" {
    check  = "tcp"
    config = { address = %[1]q }
  }
  promise "tcp-closed" {
    check  = "tcp"
    config = { address = %[2]q }
  }
  promise "web" {
    check  = "http"
    config = { url = %[3]q, body_match = "vigil" }
  }
}
promise "load" {
  command = ["%[4]scheck_load", "-w", "1000,1000,1000", "-c", "2000,2000,2000"]
}
promise "disk-root" {
  command = ["%[4]scheck_disk", "-w", "0%%", "-c", "0%%", "-p", "/"]
}
promise "disk-full" {
  command = ["%[4]scheck_disk", "-w", "100%%", "-c", "100%%", "-p", "/"]
}
promise "port" {
  command = ["%[4]scheck_tcp", "-H", "127.0.0.1", "-p", %[5]q]
}
promise "port-closed" {
  command = ["%[4]scheck_tcp", "-H", "127.0.0.1", "-p", %[6]q]
}
output "file" { path = "points.lp" }
output "influxdb" {
  url      = %[7]q
  database = "vigil_e2e"
}
`, open.Addr().String(), closedAddr, web.URL, nagios, openPort, closedPort, influx)
	a := newAgentDir(t, config, "system", "process", "net")
	out, err := a.vigil("agent", "--config", a.conf, "--once")
	if err != nil {
		t.Fatalf("vigil agent --once: %v\n%s", err, out)
	}
	pts := lptest.Decode(t, mustRead(t, a.path("points.lp")))

	status := func(id string) int64 {
		t.Helper()
		ps := lptest.Filter(pts, "promise", map[string]string{"promise": id})
		if len(ps) != 1 {
			t.Fatalf("promise %s: %d points", id, len(ps))
		}
		s, _ := ps[0].Fields["status"].(int64)
		return s
	}
	for id, want := range map[string]int64{
		"load": 0, "disk-root": 0, "disk-full": 2, "port": 0, "port-closed": 2,
		"agent-running": 0, "tcp-open": 0, "tcp-closed": 2, "web": 0,
	} {
		if got := status(id); got != want {
			p := lptest.Filter(pts, "promise", map[string]string{"promise": id})[0]
			t.Errorf("promise %s: status %d, want %d (message %q)", id, got, want, p.Fields["message"])
		}
	}
	// Perfdata became metrics, with units.
	for _, c := range []struct{ promise, label, unit string }{
		{"load", "load1", ""}, {"load", "load15", ""}, {"disk-root", "/", "B"}, {"port", "time", "s"},
	} {
		tags := map[string]string{"promise": c.promise, "label": c.label}
		if c.unit != "" {
			tags["unit"] = c.unit
		}
		ps := lptest.Filter(pts, "perfdata", tags)
		if len(ps) != 1 {
			t.Errorf("perfdata %s/%s (unit %q): %d points", c.promise, c.label, c.unit, len(ps))
			continue
		}
		if _, ok := ps[0].Fields["value"].(float64); !ok {
			t.Errorf("perfdata %s/%s: value %v", c.promise, c.label, ps[0].Fields["value"])
		}
	}
	// Every point carries node, plugin and the agent's tags.
	for _, p := range pts {
		if p.Tags["node"] != "e2e" || p.Tags["plugin"] == "" || p.Tags["site"] != "ci" {
			t.Fatalf("point without node/plugin/site tags: %+v", p)
		}
	}
	for _, m := range []string{"cpu", "mem", "system", "process"} {
		if len(lptest.Filter(pts, m, nil)) == 0 {
			t.Errorf("no %s points", m)
		}
	}
	// The same points are queryable in InfluxDB.
	res := influxtest.Query(t, influx, "vigil_e2e", `SELECT "status" FROM "promise" WHERE "promise" = 'disk-full'`)
	if !strings.Contains(res, `"status"`) || !strings.Contains(res, ",2]") {
		t.Errorf("InfluxDB answer for disk-full: %s", res)
	}
	res = influxtest.Query(t, influx, "vigil_e2e", `SELECT count("value") FROM "perfdata" WHERE "promise" = 'load'`)
	if !strings.Contains(res, ",3]") {
		t.Errorf("InfluxDB perfdata count for load (want 3): %s", res)
	}

	// Close the port check_tcp saw open: the next run reports CRITICAL.
	open.Close()
	if out, err := a.vigil("agent", "--config", a.conf, "--once"); err != nil {
		t.Fatalf("second --once: %v\n%s", err, out)
	}
	pts = lptest.Decode(t, mustRead(t, a.path("points.lp")))
	ps := lptest.Filter(pts, "promise", map[string]string{"promise": "port"})
	if len(ps) != 2 || ps[1].Fields["status"] != int64(2) {
		t.Errorf("port promise after closing: %+v", ps)
	}
}
