package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"
	"github.com/vigilmon/vigil/internal/spool"
	"github.com/vigilmon/vigil/test/syncbuf"
)

func spooled(t *testing.T, out Output, cfg SpoolConfig) *SpooledOutput {
	t.Helper()
	so, err := Spooled(out, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { so.Close() })
	return so
}

func writeBatches(t *testing.T, p *Pipeline, n, size int) {
	t.Helper()
	for i := range n {
		if err := p.Write("p", testBatch(size, size*i)); err != nil {
			t.Fatal(err)
		}
	}
}

func bodies(reqs []regRequest) []string {
	var out []string
	for _, r := range reqs {
		out = append(out, r.Body)
	}
	return out
}

var batchIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// waitUntil polls cond, failing after a bound.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 1000 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting until %s", what)
}

func TestSpooledDelivers(t *testing.T) {
	reg := newFakeRegistry(t, nil)
	so := spooled(t, newRegistry(t, reg.URL, nil), SpoolConfig{Dir: t.TempDir()})
	p := New(Config{Node: "n1", BatchSize: 10, FlushInterval: time.Hour}, nil, so)
	defer p.Close(context.Background())
	writeBatches(t, p, 3, 10)
	if err := p.Write("p", testBatch(4, 30)); err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	reqs := reg.requests()
	want := []string{testLines(10, 0), testLines(10, 10), testLines(10, 20), testLines(4, 30)}
	if diff := cmp.Diff(want, bodies(reqs)); diff != "" {
		t.Errorf("bodies (-want +got):\n%s", diff)
	}
	ids := map[string]bool{}
	for _, r := range reqs {
		if !batchIDPattern.MatchString(r.ID) || ids[r.ID] {
			t.Errorf("batch id %q: not 32 hex digits, or seen before", r.ID)
		}
		ids[r.ID] = true
	}
	if diff := cmp.Diff(map[string]OutputStats{"registry": {Sent: 34}}, p.Stats()); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	if st := so.Spool(); st.Records != 0 {
		t.Errorf("spool after Flush: %+v", st)
	}
}

func TestSpooledRetriesKeepTheID(t *testing.T) {
	reg := newFakeRegistry(t, func(n int, _ regRequest) (int, http.Header, string) {
		if n <= 2 {
			return http.StatusInternalServerError, nil, "busy"
		}
		return http.StatusNoContent, nil, ""
	})
	so := spooled(t, newRegistry(t, reg.URL, nil), SpoolConfig{Dir: t.TempDir()})
	p := New(fastRetries, nil, so)
	defer p.Close(context.Background())
	writeBatches(t, p, 1, 5)
	if err := p.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	reqs := reg.requests()
	if len(reqs) != 3 || reqs[0].ID != reqs[1].ID || reqs[1].ID != reqs[2].ID {
		t.Errorf("%d requests with ids %v", len(reqs), reqs)
	}
	if diff := cmp.Diff(OutputStats{Sent: 5}, p.Stats()["registry"]); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

// TestSpooledDoneWaitsForTheStats: the appender may find a batch settled
// (acknowledged in the spool by its sender) before the sender has counted
// it; Flush must not return in between, or its caller reads stats that do
// not have the batch yet (TestSpooledDelivers saw Sent 30 of 34 under load).
func TestSpooledDoneWaitsForTheStats(t *testing.T) {
	w := newWorker(nil, "registry", nil, hclog.NewNullLogger(), retryPolicy{})
	w.mu.Lock()
	w.acking = 1 // the sender of batch 4, between its ack and its stats
	w.mu.Unlock()
	w.appended(&batch{seq: 4, points: 4}, 0, 0, nil, 4)
	if got := w.doneSeq; got != 0 {
		t.Fatalf("doneSeq = %d while batch 4's outcome is being recorded, want 0", got)
	}
	w.mu.Lock()
	w.acking-- // the sender, done
	w.markDoneLocked(4)
	w.mu.Unlock()
	if got := w.doneSeq; got != 4 {
		t.Errorf("doneSeq = %d once recorded, want 4", got)
	}
	// What was held back is not forgotten when the sender's own seq is lower.
	w.mu.Lock()
	w.acking = 1
	w.markDoneLocked(9)
	w.acking--
	w.markDoneLocked(5)
	w.mu.Unlock()
	if got := w.doneSeq; got != 9 {
		t.Errorf("doneSeq = %d, want 9 (held while a batch was being recorded)", got)
	}
}

// TestSpooledRestart: batches a down registry did not take survive a
// restart and arrive first, with the ids they were given when cut.
func TestSpooledRestart(t *testing.T) {
	dir := t.TempDir()
	down := newFakeRegistry(t, func(int, regRequest) (int, http.Header, string) {
		return http.StatusServiceUnavailable, nil, "down"
	})
	p1 := New(Config{Node: "n1", BatchSize: 10, FlushInterval: time.Hour, RetryMin: time.Millisecond, RetryMax: time.Millisecond}, nil,
		spooled(t, newRegistry(t, down.URL, nil), SpoolConfig{Dir: dir}))
	writeBatches(t, p1, 3, 10)
	first := <-down.got
	if err := p1.Close(context.Background()); err != nil {
		t.Fatalf("Close with the registry down: %v", err)
	}
	if diff := cmp.Diff(OutputStats{Queued: 30, LastError: "writing to the registry: 503 Service Unavailable: down"}, p1.Stats()["registry"]); diff != "" {
		t.Errorf("stats after the first run (-want +got):\n%s", diff)
	}
	for _, r := range down.requests() {
		if r.ID != first.ID {
			t.Errorf("the first run sent batch %s besides %s", r.ID, first.ID)
		}
	}

	// The registry holds its first answer until the stats at start are
	// read: the second run starts delivering at once.
	started := make(chan struct{})
	up := newFakeRegistry(t, func(n int, _ regRequest) (int, http.Header, string) {
		if n == 1 {
			<-started
		}
		return http.StatusNoContent, nil, ""
	})
	p2 := New(Config{Node: "n1", BatchSize: 10, FlushInterval: time.Hour}, nil,
		spooled(t, newRegistry(t, up.URL, nil), SpoolConfig{Dir: dir}))
	defer p2.Close(context.Background())
	q := p2.Stats()["registry"].Queued
	close(started)
	if q != 30 {
		t.Errorf("Queued at start = %d, want the 30 points left in the spool", q)
	}
	writeBatches(t, p2, 1, 10)
	if err := p2.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	reqs := up.requests()
	want := []string{testLines(10, 0), testLines(10, 10), testLines(10, 20), testLines(10, 0)}
	if diff := cmp.Diff(want, bodies(reqs)); diff != "" {
		t.Fatalf("bodies (-want +got):\n%s", diff)
	}
	run1 := first.ID[:16]
	wantIDs := []string{first.ID, run1 + "0000000000000002", run1 + "0000000000000003"}
	if diff := cmp.Diff(wantIDs, []string{reqs[0].ID, reqs[1].ID, reqs[2].ID}); diff != "" {
		t.Errorf("ids of the first run's batches (-want +got):\n%s", diff)
	}
	if reqs[3].ID[:16] == run1 || !batchIDPattern.MatchString(reqs[3].ID) {
		t.Errorf("the second run's batch has id %s", reqs[3].ID)
	}
	if diff := cmp.Diff(OutputStats{Sent: 40}, p2.Stats()["registry"]); diff != "" {
		t.Errorf("stats after the second run (-want +got):\n%s", diff)
	}
}

func TestSpooledHonoursRetryAfter(t *testing.T) {
	reg := newFakeRegistry(t, func(n int, _ regRequest) (int, http.Header, string) {
		if n == 1 {
			return http.StatusServiceUnavailable, http.Header{"Retry-After": {"1"}}, "overloaded"
		}
		return http.StatusNoContent, nil, ""
	})
	p := New(fastRetries, nil, spooled(t, newRegistry(t, reg.URL, nil), SpoolConfig{Dir: t.TempDir()}))
	defer p.Close(context.Background())
	writeBatches(t, p, 1, 3)
	if err := p.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	reqs := reg.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	if gap := reqs[1].at.Sub(reqs[0].at); gap < time.Second {
		t.Errorf("second attempt %v after the first, before Retry-After: 1", gap)
	}
}

func TestSpooledQuarantine(t *testing.T) {
	const reply = `{"error":"partial write","lines":[{"line":2,"column":5,"error":"invalid field"}],"stored":9,"rejected":1}`
	reg := newFakeRegistry(t, func(n int, _ regRequest) (int, http.Header, string) {
		if n == 2 {
			return http.StatusBadRequest, http.Header{"Content-Type": {"application/json"}}, reply
		}
		return http.StatusNoContent, nil, ""
	})
	dir := t.TempDir()
	p := New(Config{Node: "n1", BatchSize: 10, FlushInterval: time.Hour}, nil, spooled(t, newRegistry(t, reg.URL, nil), SpoolConfig{Dir: dir}))
	defer p.Close(context.Background())
	writeBatches(t, p, 3, 10)
	err := p.Flush(context.Background())
	if err == nil || !strings.Contains(err.Error(), "output registry: 1 batches (10 points) not delivered, first: quarantined: the registry refused the batch (400 Bad Request): partial write") {
		t.Errorf("Flush error = %v", err)
	}
	if diff := cmp.Diff(OutputStats{Sent: 20, Quarantined: 10}, p.Stats()["registry"]); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	id := reg.requests()[1].ID
	qdir := filepath.Join(dir, "quarantine")
	if got := readFile(t, filepath.Join(qdir, id+".lp")); got != testLines(10, 10) {
		t.Errorf("quarantined lines %q", got)
	}
	var note quarantineNote
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(qdir, id+".json"))), &note); err != nil {
		t.Fatal(err)
	}
	if time.Since(note.Time) > time.Hour {
		t.Errorf("note time %v", note.Time)
	}
	note.Time = time.Time{}
	var compact bytes.Buffer
	if err := json.Compact(&compact, note.Reply); err != nil {
		t.Fatal(err)
	}
	note.Reply = compact.Bytes()
	want := quarantineNote{ID: id, Output: "registry", Points: 10, Reply: json.RawMessage(reply),
		Error: "the registry refused the batch (400 Bad Request): partial write (9 lines stored, 1 rejected); line 2:5: invalid field"}
	if diff := cmp.Diff(want, note); diff != "" {
		t.Errorf("note (-want +got):\n%s", diff)
	}
}

func TestSpooledBadTokenKeepsRetrying(t *testing.T) {
	reg := newFakeRegistry(t, func(n int, _ regRequest) (int, http.Header, string) {
		if n <= 8 {
			return http.StatusUnauthorized, nil, `{"error":"unknown token"}`
		}
		return http.StatusNoContent, nil, ""
	})
	var logs syncbuf.Buffer
	log := hclog.New(&hclog.LoggerOptions{Output: &logs})
	p := New(fastRetries, log, spooled(t, newRegistry(t, reg.URL, log), SpoolConfig{Dir: t.TempDir()}))
	defer p.Close(context.Background())
	writeBatches(t, p, 1, 7)
	if err := p.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(reg.requests()); n != 9 {
		t.Errorf("%d requests, want 9 (more than MaxRetries: spooled outputs retry until they succeed)", n)
	}
	if diff := cmp.Diff(OutputStats{Sent: 7}, p.Stats()["registry"]); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	l := logs.String()
	if strings.Count(l, "[ERROR] the registry refuses the agent token") != 1 || !strings.Contains(l, "fix token in the registry block of agent.hcl") || !strings.Contains(l, "output recovered") {
		t.Errorf("log:\n%s", l)
	}
}

// notifying passes writes to an output and tells got.
type notifying struct {
	Output
	got chan struct{}
}

func (n notifying) Write(ctx context.Context, lp []byte, points int) error {
	err := n.Output.Write(ctx, lp, points)
	n.got <- struct{}{}
	return err
}

// TestDownRegistryDoesNotDelayFile: with the registry hanging, the file
// output gets every batch as it is cut.
func TestDownRegistryDoesNotDelayFile(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	hang := newFakeRegistry(t, func(int, regRequest) (int, http.Header, string) {
		calls.Add(1)
		<-release
		return http.StatusServiceUnavailable, nil, ""
	})
	defer close(release)
	path := filepath.Join(t.TempDir(), "points.lp")
	file := notifying{File(path), make(chan struct{}, 100)}
	p := New(Config{Node: "n1", BatchSize: 5, FlushInterval: time.Hour}, nil,
		spooled(t, newRegistry(t, hang.URL, nil), SpoolConfig{Dir: t.TempDir()}), file)
	for i := range 20 {
		if err := p.Write("p", testBatch(5, 5*i)); err != nil {
			t.Fatal(err)
		}
		<-file.got
		if got := readFile(t, path); got != testLines(5*(i+1), 0) {
			t.Fatalf("after batch %d the file has %q", i, got)
		}
	}
	waitUntil(t, "the file output counts its deliveries", func() bool { return p.Stats()["file"].Sent == 100 })
	waitUntil(t, "the registry is called", func() bool { return calls.Load() == 1 })
	st := p.Stats()
	if diff := cmp.Diff(map[string]OutputStats{"registry": {Queued: 100}, "file": {Sent: 100}}, st); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the registry is stuck: Close gives up on it at once
	if err := p.Close(ctx); err != nil {
		t.Errorf("Close: %v (a spooled output keeps its batches: no error)", err)
	}
}

// TestSpoolFullDropsOldest: a spool smaller than the backlog drops its
// oldest batches, and the points it dropped are exactly those that never
// arrive.
func TestSpoolFullDropsOldest(t *testing.T) {
	var up atomic.Bool
	var mu sync.Mutex
	var delivered []string
	reg := newFakeRegistry(t, func(_ int, r regRequest) (int, http.Header, string) {
		if !up.Load() {
			return http.StatusServiceUnavailable, nil, "down"
		}
		mu.Lock()
		delivered = append(delivered, r.Body)
		mu.Unlock()
		return http.StatusNoContent, nil, ""
	})
	var logs syncbuf.Buffer
	log := hclog.New(&hclog.LoggerOptions{Output: &logs})
	so := spooled(t, newRegistry(t, reg.URL, nil), SpoolConfig{Dir: t.TempDir(), MaxBytes: 4 << 10})
	p := New(Config{Node: "n1", BatchSize: 10, FlushInterval: time.Hour, RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond}, log, so)
	defer p.Close(context.Background())
	const batches = 30
	writeBatches(t, p, batches, 10)
	waitUntil(t, "every batch is in the spool and its drops counted", func() bool {
		st := so.Spool()
		return st.Records+st.DroppedRecords == batches && p.Stats()["registry"].Dropped == st.DroppedCount
	})
	up.Store(true)
	err := p.Flush(context.Background())
	if err == nil || !strings.Contains(err.Error(), "spool full: dropped the") {
		t.Errorf("Flush error = %v", err)
	}
	st := p.Stats()["registry"]
	mu.Lock()
	got := strings.Join(delivered, "")
	mu.Unlock()
	sent := int64(strings.Count(got, "\n"))
	if st.Dropped == 0 || st.Sent != sent || st.Sent+st.Dropped != 10*batches || st.Queued != 0 {
		t.Errorf("stats %+v with %d points delivered, %d written", st, sent, 10*batches)
	}
	// What arrived is the newest points, in order, perhaps after the
	// batch that was being retried when the spool dropped it.
	var vals []int
	for _, line := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
		var v, ts int
		if _, err := fmt.Sscanf(line, "m,host=h,node=n1,plugin=p v=%d %d", &v, &ts); err != nil {
			t.Fatalf("delivered line %q: %v", line, err)
		}
		vals = append(vals, v)
	}
	gaps := 0
	for i := 1; i < len(vals); i++ {
		if vals[i] != vals[i-1]+1 {
			gaps++
		}
	}
	if len(vals) == 0 || vals[len(vals)-1] != 10*batches-1 || gaps > 1 || !slices.IsSorted(vals) {
		t.Errorf("delivered %v: want the newest points in order, and at most the batch in flight before them", vals)
	}
	l := logs.String()
	if strings.Count(l, "output is losing points") != 1 {
		t.Errorf("log:\n%s", l)
	}
	// The recovery line says how many points the streak lost: exactly
	// those that never arrived, not a batch dropped in flight and then
	// delivered after all.
	if want := fmt.Sprintf("lost_points=%d", 10*batches-sent); !strings.Contains(l, "output recovered") || !strings.Contains(l, want) {
		t.Errorf("want a recovery line with %s; log:\n%s", want, l)
	}
}

// idOutput records the batch id of every attempt and fails the first
// attempt of each batch.
type idOutput struct {
	mu  sync.Mutex
	ids []string
}

func (o *idOutput) Name() string { return "ids" }

func (o *idOutput) Write(context.Context, []byte, int) error {
	return errors.New("Write called on a BatchWriter")
}

func (o *idOutput) WriteBatch(_ context.Context, id string, _ []byte, _ int) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ids = append(o.ids, id)
	if len(o.ids)%2 == 1 {
		return errors.New("first attempt fails")
	}
	return nil
}

func TestBatchIDs(t *testing.T) {
	o := &idOutput{}
	p := New(fastRetries, nil, o)
	defer p.Close(context.Background())
	for i := range 3 {
		writeBatches(t, p, 1, 1+i)
		if err := p.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if len(o.ids) != 6 {
		t.Fatalf("%d attempts: %v", len(o.ids), o.ids)
	}
	seen := map[string]bool{}
	for i := 0; i < 6; i += 2 {
		id := o.ids[i]
		if o.ids[i+1] != id || !batchIDPattern.MatchString(id) || seen[id] {
			t.Errorf("attempts of batch %d: %q, %q", i/2, id, o.ids[i+1])
		}
		seen[id] = true
	}
}

func TestSpooledErrors(t *testing.T) {
	if _, err := Spooled(newChanOutput("o"), SpoolConfig{}); err == nil {
		t.Error("no directory accepted")
	}
	dir := t.TempDir()
	spooled(t, newChanOutput("o"), SpoolConfig{Dir: dir})
	if _, err := Spooled(newChanOutput("o"), SpoolConfig{Dir: dir}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second spool on a directory: %v", err)
	}
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Spooled(newChanOutput("o"), SpoolConfig{Dir: filepath.Join(file, "x")}); err == nil {
		t.Error("a directory under a file accepted")
	}
}

func TestSpooledCloseDelivers(t *testing.T) {
	reg := newFakeRegistry(t, nil)
	so := spooled(t, newRegistry(t, reg.URL, nil), SpoolConfig{Dir: t.TempDir()})
	p := New(Config{Node: "n1", BatchSize: 10, FlushInterval: time.Hour}, nil, so)
	writeBatches(t, p, 5, 10)
	if err := p.Write("p", testBatch(3, 50)); err != nil { // partial: cut by Close
		t.Fatal(err)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(bodies(reg.requests()), ""), testLines(53, 0); got != want {
		t.Errorf("delivered %q, want %q", got, want)
	}
	if diff := cmp.Diff(OutputStats{Sent: 53}, p.Stats()["registry"]); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	if _, _, err := so.sp.Append(spool.Record{}); !errors.Is(err, spool.ErrClosed) {
		t.Errorf("the spool is open after Close: %v", err)
	}
}

func TestQuarantineBounds(t *testing.T) {
	lp := []byte(strings.Repeat("x", 100))
	tests := []struct {
		name       string
		maxBatches int
		maxBytes   func(batch int64) int64 // given the size of one batch's files
		want       []string
	}{
		{"by count", 3, func(int64) int64 { return 1 << 20 }, []string{"b3", "b4", "b5"}},
		{"by bytes", 100, func(b int64) int64 { return 2*b + b/2 }, []string{"b4", "b5"}},
		{"the newest is always kept", 100, func(int64) int64 { return 10 }, []string{"b5"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			fixed := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) // notes of equal size
			probe := &quarantine{dir: t.TempDir(), maxBatches: 1, maxBytes: 1 << 20, now: func() time.Time { return fixed }}
			if err := probe.put("b0", "registry", lp, 1, errors.New("bad")); err != nil {
				t.Fatal(err)
			}
			note, err := os.Stat(filepath.Join(probe.dir, "b0.json"))
			if err != nil {
				t.Fatal(err)
			}
			q := &quarantine{dir: dir, maxBatches: tc.maxBatches, maxBytes: tc.maxBytes(int64(len(lp)) + note.Size()), now: probe.now}
			for i := 1; i <= 5; i++ {
				if err := q.put(fmt.Sprintf("b%d", i), "registry", lp, 1, errors.New("bad")); err != nil {
					t.Fatal(err)
				}
				// Distinct ages, oldest first.
				for _, ext := range []string{".lp", ".json"} {
					at := time.Now().Add(time.Duration(i-10) * time.Minute)
					if err := os.Chtimes(filepath.Join(dir, fmt.Sprintf("b%d%s", i, ext)), at, at); err != nil {
						t.Fatal(err)
					}
				}
			}
			var got []string
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if name, ok := strings.CutSuffix(e.Name(), ".json"); ok {
					got = append(got, name)
					if _, err := os.Stat(filepath.Join(dir, name+".lp")); err != nil {
						t.Errorf("%s.json without its lines: %v", name, err)
					}
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("kept (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFileSafe(t *testing.T) {
	tests := []struct {
		id     string
		hashed bool
	}{
		{"0123abcdef", false},
		{"a-b_C", false},
		{"../etc", true},
		{"a/b", true},
		{"", true},
		{strings.Repeat("a", 129), true},
	}
	for _, tc := range tests {
		got := fileSafe(tc.id)
		if !tc.hashed && got != tc.id || tc.hashed && (!strings.HasPrefix(got, "id-") || len(got) != 35 || strings.ContainsAny(got, "./")) {
			t.Errorf("fileSafe(%q) = %q", tc.id, got)
		}
	}
}
