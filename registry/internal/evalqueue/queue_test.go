package evalqueue

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vigilmon/vigil/registry/internal/evaluate"
	"github.com/vigilmon/vigil/registry/internal/store"
	"github.com/vigilmon/vigil/registry/internal/store/sqlite"
	"github.com/vigilmon/vigil/sdk/release"
)

// fakeEvaluator returns a canned report: passed unless the version is in
// fail. With block set, it waits for its context to end.
type fakeEvaluator struct {
	fail    map[string]bool
	block   bool
	started chan string

	mu      sync.Mutex
	inputs  []evaluate.Input
	running atomic.Int32
	maxRun  atomic.Int32
}

func (e *fakeEvaluator) Evaluate(ctx context.Context, in evaluate.Input) evaluate.Report {
	n := e.running.Add(1)
	defer e.running.Add(-1)
	for {
		m := e.maxRun.Load()
		if n <= m || e.maxRun.CompareAndSwap(m, n) {
			break
		}
	}
	e.mu.Lock()
	e.inputs = append(e.inputs, in)
	e.mu.Unlock()
	if e.started != nil {
		e.started <- in.Version
	}
	if e.block {
		<-ctx.Done()
	}
	passed := !e.fail[in.Version]
	return evaluate.Report{
		Passed: passed, Started: time.Unix(100, 0).UTC(), Finished: time.Unix(101, 0).UTC(),
		Checks:          []evaluate.Check{{Name: "unpack linux/amd64", Passed: passed, Detail: "entry \"../x\": escapes the directory"}},
		ProtocolVersion: 1,
	}
}

type env struct {
	st  store.Store
	dir string
	pub release.PublicKey
}

func newEnv(t *testing.T, versions map[string]store.State) env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	pub, _, err := release.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	p, err := st.CreatePublisher(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddSigningKey(ctx, p.ID, release.KeyID(pub), []byte(pub)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreatePlugin(ctx, store.Plugin{Name: "hello", Owner: p.ID}); err != nil {
		t.Fatal(err)
	}
	for v, s := range versions {
		_, err := st.CreateRelease(ctx, store.NewRelease{Plugin: "hello", Version: v, Manifest: json.RawMessage("null"), Actor: "plugin:1",
			Artifacts: []store.Artifact{{OS: "linux", Arch: "amd64", Path: "hello/" + v + "/a.tar.gz", SHA256: "00", Size: 1}},
			Signature: &store.Signature{SHA256Sums: []byte("x"), Signature: make([]byte, 64), KeyID: release.KeyID(pub)}})
		if err != nil {
			t.Fatal(err)
		}
		if s == store.Evaluating {
			if _, err := st.TransitionRelease(ctx, "hello", v, s, Actor, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	return env{st: st, dir: filepath.Join(dir, "artifacts"), pub: pub}
}

// waitState polls until the release reaches state (the test's own
// deadline bounds it).
func waitState(t *testing.T, st store.Store, version string, want store.State) {
	t.Helper()
	for {
		r, err := st.Release(context.Background(), "hello", version)
		if err != nil {
			t.Fatal(err)
		}
		if r.State == want {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func history(t *testing.T, st store.Store, version string) []store.TransitionRecord {
	t.Helper()
	h, err := st.History(context.Background(), "hello", version)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

var ignoreAt = cmpopts.IgnoreFields(store.TransitionRecord{}, "At")

func TestQueueEvaluatesAndRecords(t *testing.T) {
	e := newEnv(t, map[string]store.State{"1.0.0": store.Pending, "1.0.1": store.Pending, "0.9.0": store.Evaluating})
	ev := &fakeEvaluator{fail: map[string]bool{"1.0.1": true}}
	q := New(Config{Store: e.st, Evaluator: ev, ArtifactDir: e.dir, Workers: 2})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- q.Run(ctx) }()
	waitState(t, e.st, "1.0.0", store.Passed)
	waitState(t, e.st, "1.0.1", store.Failed)
	waitState(t, e.st, "0.9.0", store.Passed) // left evaluating by a "crash": re-queued
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	ev.mu.Lock()
	var got []evaluate.Input
	for _, in := range ev.inputs {
		if in.Version == "1.0.0" {
			got = append(got, in)
		}
	}
	ev.mu.Unlock()
	want := []evaluate.Input{{Plugin: "hello", Version: "1.0.0", Dir: filepath.Join(e.dir, "hello", "1.0.0"), PublicKey: e.pub}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("evaluator input (-want +got):\n%s", diff)
	}
	wantHist := []store.TransitionRecord{
		{From: "", To: store.Pending, Actor: "plugin:1", Reason: "published"},
		{From: store.Pending, To: store.Evaluating, Actor: Actor},
		{From: store.Evaluating, To: store.Failed, Actor: Actor, Reason: "unpack linux/amd64: entry \"../x\": escapes the directory"},
	}
	if diff := cmp.Diff(wantHist, history(t, e.st, "1.0.1"), ignoreAt); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	requeued := history(t, e.st, "0.9.0")
	if diff := cmp.Diff(store.TransitionRecord{From: store.Evaluating, To: store.Pending, Actor: Actor, Reason: "evaluation interrupted by a registry restart"}, requeued[2], ignoreAt); diff != "" {
		t.Errorf("re-queue (-want +got):\n%s", diff)
	}
	evs, err := e.st.Evaluations(context.Background(), "hello", "1.0.0")
	if err != nil || len(evs) != 1 {
		t.Fatalf("evaluations: %v %v", evs, err)
	}
	var rep evaluate.Report
	if err := json.Unmarshal(evs[0].Report, &rep); err != nil || !rep.Passed || rep.ProtocolVersion != 1 {
		t.Errorf("stored report %s: %v", evs[0].Report, err)
	}
	if ev.maxRun.Load() > 2 {
		t.Errorf("%d evaluations ran at once, want at most 2", ev.maxRun.Load())
	}
}

func TestQueueShutdownRequeuesTheRunningEvaluation(t *testing.T) {
	e := newEnv(t, map[string]store.State{"1.0.0": store.Pending})
	ev := &fakeEvaluator{block: true, started: make(chan string, 1)}
	q := New(Config{Store: e.st, Evaluator: ev, ArtifactDir: e.dir})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- q.Run(ctx) }()
	<-ev.started
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	r, err := e.st.Release(context.Background(), "hello", "1.0.0")
	if err != nil || r.State != store.Pending {
		t.Fatalf("after shutdown: %v %v, want pending", r.State, err)
	}
	evs, _ := e.st.Evaluations(context.Background(), "hello", "1.0.0")
	if len(evs) != 0 {
		t.Errorf("an interrupted evaluation was recorded: %s", evs[0].Report)
	}
}

func TestQueueOneAtATimeByDefault(t *testing.T) {
	e := newEnv(t, map[string]store.State{"1.0.0": store.Pending, "1.0.1": store.Pending, "1.0.2": store.Pending})
	ev := &fakeEvaluator{}
	q := New(Config{Store: e.st, Evaluator: ev, ArtifactDir: e.dir})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- q.Run(ctx) }()
	for _, v := range []string{"1.0.0", "1.0.1", "1.0.2"} {
		waitState(t, e.st, v, store.Passed)
	}
	cancel()
	<-done
	if ev.maxRun.Load() != 1 {
		t.Errorf("%d evaluations ran at once, want 1", ev.maxRun.Load())
	}
}
