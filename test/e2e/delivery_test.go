package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigilmon/vigil/test/syncbuf"
)

// registryServer is a real `vigil-registry serve` on a free loopback
// port; it can be stopped and started again on the same address and data
// directory, as an outage does.
type registryServer struct {
	t     *testing.T
	addr  string
	url   string
	data  string
	admin string
	log   *syncbuf.Buffer
	cmd   *exec.Cmd
}

func newRegistryServer(t *testing.T) *registryServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	r := &registryServer{t: t, addr: addr, url: "http://" + addr, data: t.TempDir(), admin: "vgr_e2e_admin_0123456789abcdef", log: &syncbuf.Buffer{}}
	t.Cleanup(func() {
		r.stop()
		if t.Failed() {
			t.Logf("registry log:\n%s", r.log.String())
		}
	})
	r.start()
	return r
}

func (r *registryServer) start() {
	r.t.Helper()
	r.cmd = exec.Command(bins.Path(r.t, "vigil-registry"), "serve", "--listen", r.addr, "--data", r.data)
	r.cmd.Env = append(os.Environ(), "VIGIL_REGISTRY_ADMIN_TOKEN="+r.admin)
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		if resp, err := http.Get(r.url + "/ping"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return
			}
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("registry did not come up:\n%s", r.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop stops the registry gracefully (its acknowledged data is durable
// either way).
func (r *registryServer) stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	r.cmd.Wait()
	r.cmd = nil
}

// kill SIGKILLs the registry, as a crash or the OOM killer does.
func (r *registryServer) kill() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	r.cmd.Process.Signal(syscall.SIGKILL)
	r.cmd.Wait()
	r.cmd = nil
}

// agentToken creates an agent token bound to node.
func (r *registryServer) agentToken(node string) string {
	r.t.Helper()
	return secretIn(r.t, run(r.t, r.t.TempDir(), "vigil-registry", "token", "create", "--role", "agent", "--node", node,
		"--registry", r.url, "--token", r.admin, "--format", "json"))
}

// series is one series' raw samples from GET /v1/query/series.
type series struct {
	Tags   map[string]string `json:"tags"`
	Points [][2]any          `json:"points"`
}

// query asks for the raw samples of measurement.field on node.
func (r *registryServer) query(node, measurement, field string, from, to time.Time) []series {
	r.t.Helper()
	q := url.Values{"node": {node}, "measurement": {measurement}, "field": {field},
		"from": {from.UTC().Format(time.RFC3339Nano)}, "to": {to.UTC().Format(time.RFC3339Nano)}}
	req, _ := http.NewRequest("GET", r.url+"/v1/query/series?"+q.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+r.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Series []series `json:"series"`
	}
	if resp.StatusCode != http.StatusOK {
		b := new(bytes.Buffer)
		b.ReadFrom(resp.Body)
		r.t.Fatalf("query: %d %s", resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		r.t.Fatal(err)
	}
	return body.Series
}

// agentProc is a running `vigil agent`.
type agentProc struct {
	cmd *exec.Cmd
	log *syncbuf.Buffer
}

func (a *agentDir) startAgent(log *syncbuf.Buffer) *agentProc {
	a.t.Helper()
	cmd := exec.Command(bins.Path(a.t, "vigil"), "agent", "--config", a.conf, "--log-level", "debug")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		a.t.Fatal(err)
	}
	p := &agentProc{cmd: cmd, log: log}
	a.t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	return p
}

// waitFor polls cond until it holds or the bound passes.
func waitFor(t *testing.T, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(bound); !cond(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, bound)
		}
	}
}

// seqsBySeries returns, per series tag, the seq values stored.
func seqsBySeries(ss []series) map[string][]int {
	out := map[string][]int{}
	for _, s := range ss {
		for _, p := range s.Points {
			v, _ := p[1].(float64)
			out[s.Tags["series"]] = append(out[s.Tags["series"]], int(v))
		}
	}
	return out
}

const deliveryConfig = `
agent {
  node           = "e2e-delivery"
  interval       = "500ms"
  flush_interval = "50ms"
  data_dir       = "data"
  # only the counter's points travel, so counts are exact
  internal_metrics = false
}

registry {
  url   = %q
  token = %q
}

output "registry" {
  spool_max_bytes = %q
}

plugin "counter" {
  version = "0.1.0"
  config  = { points = 4, series = 2 }
}
`

// TestDeliverySurvivesRegistryOutageAndAgentKill: the registry is down for
// 30 s while the agent keeps collecting; during the outage the agent is
// SIGKILLed and restarted. Afterwards every point the plugin generated is
// in the registry exactly once.
//
// The counter plugin numbers its points 1, 2, ... per process, alternating
// between two series; each agent run starts a new plugin process, so the
// runs are told apart by time. Within a run the stored seq values must be
// exactly 1..max: a hole is a lost point, a repeat a duplicate. The points
// of the killed run's last collection may not have reached the spool when
// SIGKILL landed (they were never accepted); the test kills the agent right
// after a collection has been flushed, so a hole there fails it too.
func TestDeliverySurvivesRegistryOutageAndAgentKill(t *testing.T) {
	if testing.Short() {
		t.Skip("a 30 s outage")
	}
	reg := newRegistryServer(t)
	token := reg.agentToken("e2e-delivery")
	a := newAgentDir(t, fmt.Sprintf(deliveryConfig, reg.url, token, "64MiB"), "counter")
	begin := time.Now()
	log1 := &syncbuf.Buffer{}
	ag := a.startAgent(log1)

	waitFor(t, 20*time.Second, "first points stored", func() bool {
		return len(reg.query("e2e-delivery", "counter", "seq", begin.Add(-time.Minute), time.Now().Add(time.Minute))) > 0
	})
	time.Sleep(2 * time.Second)

	outage := time.Now()
	reg.stop()
	t.Log("registry stopped")
	time.Sleep(8 * time.Second)
	// Kill right after a collection was flushed to the spool: collections
	// run every 500 ms and the spool takes them within ~50 ms.
	waitSpoolGrew(t, a.path("data/spool"))
	ag.cmd.Process.Signal(syscall.SIGKILL)
	ag.cmd.Wait()
	killed := time.Now()
	t.Log("agent killed")
	time.Sleep(time.Second)
	log2 := &syncbuf.Buffer{}
	ag2 := a.startAgent(log2)
	time.Sleep(time.Until(outage.Add(30 * time.Second)))
	reg.start()
	back := time.Now()
	t.Log("registry back")
	// The spool is FIFO: once points collected after the registry came
	// back are stored, the backlog before them is too.
	waitStoredAfter(t, reg, begin, back)
	// Stop the agent gracefully: it drains what it holds.
	ag2.cmd.Process.Signal(syscall.SIGTERM)
	if err := ag2.cmd.Wait(); err != nil {
		t.Fatalf("agent exit: %v\n%s", err, log2.String())
	}
	end := time.Now()

	all := reg.query("e2e-delivery", "counter", "seq", begin.Add(-time.Minute), end.Add(time.Minute))
	// Split into the two runs by time.
	var run1, run2 []series
	for _, s := range all {
		var s1, s2 series
		s1.Tags, s2.Tags = s.Tags, s.Tags
		for _, p := range s.Points {
			ts, _ := time.Parse(time.RFC3339Nano, p[0].(string))
			if ts.Before(killed) {
				s1.Points = append(s1.Points, p)
			} else {
				s2.Points = append(s2.Points, p)
			}
		}
		run1, run2 = append(run1, s1), append(run2, s2)
	}
	for name, r := range map[string][]series{"before the kill": run1, "after the restart": run2} {
		var seqs []int
		for _, v := range seqsBySeries(r) {
			seqs = append(seqs, v...)
		}
		sort.Ints(seqs)
		if len(seqs) == 0 {
			t.Fatalf("%s: no points stored\nagent 1 log:\n%s\nagent 2 log:\n%s", name, log1.String(), log2.String())
		}
		for i, s := range seqs {
			if s != i+1 {
				t.Fatalf("%s: stored seq values are not exactly 1..%d: position %d holds %d (hole = lost, repeat = duplicate)\nagent 1 log:\n%s\nagent 2 log:\n%s",
					name, seqs[len(seqs)-1], i, s, log1.String(), log2.String())
			}
		}
		t.Logf("%s: %d points stored exactly once", name, len(seqs))
	}
	// The registry knows what the node runs: the agent's inventory.
	node := reg.node("e2e-delivery")
	if len(node.Inventory.Plugins) != 1 || node.Inventory.Plugins[0].Name != "counter" || node.Inventory.Plugins[0].Version != "0.1.0" || len(node.Inventory.Plugins[0].SHA256) != 64 {
		t.Errorf("node inventory at the registry: %+v\nagent 2 log:\n%s", node, log2.String())
	}
}

// TestDeliverySurvivesRegistryKills: the registry is SIGKILLed again and
// again while the agent ships a batch every few tens of milliseconds, so
// that kills land with batches in flight: between a batch's claim and its
// write, between its write and its answer. The agent retries each batch
// under its id until one attempt is answered; afterwards every point the
// plugin generated is stored exactly once.
func TestDeliverySurvivesRegistryKills(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts the registry ten times")
	}
	reg := newRegistryServer(t)
	token := reg.agentToken("e2e-delivery")
	conf := strings.NewReplacer(`interval       = "500ms"`, `interval       = "100ms"`, `flush_interval = "50ms"`, `flush_interval = "20ms"`,
		`points = 4`, `points = 50`).Replace(fmt.Sprintf(deliveryConfig, reg.url, token, "64MiB"))
	a := newAgentDir(t, conf, "counter")
	begin := time.Now()
	alog := &syncbuf.Buffer{}
	ag := a.startAgent(alog)
	waitFor(t, 20*time.Second, "first points stored", func() bool {
		return len(reg.query("e2e-delivery", "counter", "seq", begin.Add(-time.Minute), time.Now().Add(time.Minute))) > 0
	})
	for i := range 10 {
		time.Sleep(time.Duration(300+rand.IntN(500)) * time.Millisecond)
		reg.kill()
		t.Logf("registry killed (%d)", i+1)
		time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
		reg.start()
	}
	back := time.Now()
	waitStoredAfter(t, reg, begin, back)
	ag.cmd.Process.Signal(syscall.SIGTERM)
	if err := ag.cmd.Wait(); err != nil {
		t.Fatalf("agent exit: %v\n%s", err, alog.String())
	}
	var seqs []int
	for _, v := range seqsBySeries(reg.query("e2e-delivery", "counter", "seq", begin.Add(-time.Minute), time.Now().Add(time.Minute))) {
		seqs = append(seqs, v...)
	}
	sort.Ints(seqs)
	for i, s := range seqs {
		if s != i+1 {
			t.Fatalf("stored seq values are not exactly 1..%d: position %d holds %d (hole = lost, repeat = duplicate)\nagent log:\n%s",
				seqs[len(seqs)-1], i, s, alog.String())
		}
	}
	t.Logf("%d points stored exactly once across 10 registry kills", len(seqs))
}

// waitStoredAfter waits until a point collected after since is stored.
func waitStoredAfter(t *testing.T, reg *registryServer, begin, since time.Time) {
	t.Helper()
	waitFor(t, 90*time.Second, "points collected after "+since.Format(time.TimeOnly)+" stored", func() bool {
		for _, s := range reg.query("e2e-delivery", "counter", "seq", begin.Add(-time.Minute), time.Now().Add(time.Minute)) {
			for _, p := range s.Points {
				if ts, _ := time.Parse(time.RFC3339Nano, p[0].(string)); ts.After(since) {
					return true
				}
			}
		}
		return false
	})
}

// nodeInfo is GET /v1/nodes/{node}.
type nodeInfo struct {
	AgentVersion string `json:"agent_version"`
	Inventory    struct {
		Plugins []struct {
			Name, Version, SHA256 string
		} `json:"plugins"`
	} `json:"inventory"`
}

func (r *registryServer) node(name string) nodeInfo {
	r.t.Helper()
	req, _ := http.NewRequest("GET", r.url+"/v1/nodes/"+name, nil)
	req.Header.Set("Authorization", "Bearer "+r.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	var n nodeInfo
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&n) != nil {
		r.t.Fatalf("GET /v1/nodes/%s: %d", name, resp.StatusCode)
	}
	return n
}

// waitSpoolGrew waits until a spool file under dir changes size, i.e. a
// batch was just appended.
func waitSpoolGrew(t *testing.T, dir string) {
	t.Helper()
	size := func() int64 {
		var n int64
		filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() {
				n += fi.Size()
			}
			return nil
		})
		return n
	}
	before := size()
	waitFor(t, 10*time.Second, "a batch appended to the spool", func() bool { return size() != before })
}

// The agent logs the first loss of a streak ("spool full: dropped ...")
// and, when the output recovers, how many points the streak lost.
var (
	spoolFullRe = regexp.MustCompile(`spool full: dropped`)
	recoveredRe = regexp.MustCompile(`output recovered:.*lost_points=(\d+)`)
)

// TestSpoolOverflowDropsOldestAndCountsThem: with a spool smaller than
// what an outage produces, the oldest batches are dropped; the points
// stored plus the points the agent reports dropped are exactly what the
// plugin generated, and the newest points survive.
func TestSpoolOverflowDropsOldestAndCountsThem(t *testing.T) {
	if testing.Short() {
		t.Skip("an outage")
	}
	reg := newRegistryServer(t)
	token := reg.agentToken("e2e-delivery")
	a := newAgentDir(t, fmt.Sprintf(deliveryConfig, reg.url, token, "8KiB"), "counter")
	begin := time.Now()
	log := &syncbuf.Buffer{}
	ag := a.startAgent(log)
	waitFor(t, 20*time.Second, "first points stored", func() bool {
		return len(reg.query("e2e-delivery", "counter", "seq", begin.Add(-time.Minute), time.Now().Add(time.Minute))) > 0
	})
	reg.stop()
	waitFor(t, 60*time.Second, "the spool to drop batches", func() bool { return spoolFullRe.MatchString(log.String()) })
	time.Sleep(2 * time.Second)
	reg.start()
	waitStoredAfter(t, reg, begin, time.Now())
	ag.cmd.Process.Signal(syscall.SIGTERM)
	if err := ag.cmd.Wait(); err != nil {
		t.Fatalf("agent exit: %v\n%s", err, log.String())
	}
	dropped := 0
	for _, m := range recoveredRe.FindAllStringSubmatch(log.String(), -1) {
		n, _ := strconv.Atoi(m[1])
		dropped += n
	}
	var seqs []int
	for _, v := range seqsBySeries(reg.query("e2e-delivery", "counter", "seq", begin.Add(-time.Minute), time.Now().Add(time.Minute))) {
		seqs = append(seqs, v...)
	}
	sort.Ints(seqs)
	generated := seqs[len(seqs)-1] // the newest survive, so the last seq is stored
	if len(seqs)+dropped != generated {
		t.Fatalf("stored %d + reported dropped %d != generated %d\n%s", len(seqs), dropped, generated, log.String())
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] == seqs[i-1] {
			t.Fatalf("seq %d stored twice", seqs[i])
		}
	}
	if dropped == 0 {
		t.Fatalf("the spool dropped nothing: the test did not overflow it\n%s", log.String())
	}
	t.Logf("generated %d, stored %d, dropped %d (reported)", generated, len(seqs), dropped)
}

// TestInfluxDBOutputToRegistryCompat: the agent's influxdb output, made
// for InfluxDB 1.x, writes to the registry's compatible /write endpoint
// with the agent token as its password, and the points land under the
// token's node.
func TestInfluxDBOutputToRegistryCompat(t *testing.T) {
	reg := newRegistryServer(t)
	token := reg.agentToken("e2e-compat")
	a := newAgentDir(t, fmt.Sprintf(`
agent {
  node     = "e2e-compat"
  data_dir = "data"
  internal_metrics = false
}

plugin "counter" {
  version = "0.1.0"
  config  = { points = 6, series = 2 }
}

output "influxdb" {
  url      = %q
  database = "telegraf"
  username = "e2e-compat"
  password = %q
}
`, reg.url, token), "counter")
	begin := time.Now()
	if out, err := a.vigil("agent", "--once", "--config", a.conf); err != nil {
		t.Fatalf("vigil agent --once: %v\n%s", err, out)
	}
	var seqs []int
	for _, v := range seqsBySeries(reg.query("e2e-compat", "counter", "seq", begin.Add(-time.Minute), time.Now().Add(time.Minute))) {
		seqs = append(seqs, v...)
	}
	sort.Ints(seqs)
	if fmt.Sprint(seqs) != "[1 2 3 4 5 6]" {
		t.Errorf("stored seq values %v, want 1..6", seqs)
	}
}
