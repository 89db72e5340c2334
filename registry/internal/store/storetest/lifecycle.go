package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vigilmon/vigil/registry/internal/store"
)

// allowed is the state machine as the issue states it, written out here
// independently of store.Transition so that a change to one fails against
// the other.
var allowed = map[[2]store.State]bool{
	{store.Pending, store.Evaluating}:   true,
	{store.Evaluating, store.Passed}:    true,
	{store.Evaluating, store.Failed}:    true,
	{store.Evaluating, store.Pending}:   true, // requeue an interrupted evaluation
	{store.Passed, store.Approved}:      true,
	{store.Passed, store.Rejected}:      true,
	{store.Approved, store.Withdrawn}:   true,
	{store.Withdrawn, store.Approved}:   true, // reinstate
	{store.Pending, store.Abandoned}:    true,
	{store.Evaluating, store.Abandoned}: true,
	{store.Passed, store.Abandoned}:     true,
	{store.Failed, store.Abandoned}:     true,
	{store.Approved, store.Abandoned}:   true,
	{store.Rejected, store.Abandoned}:   true,
	{store.Withdrawn, store.Abandoned}:  true,
}

// path is how a test drives a new (pending) release to each state.
var path = map[store.State][]store.State{
	store.Pending:    nil,
	store.Evaluating: {store.Evaluating},
	store.Passed:     {store.Evaluating, store.Passed},
	store.Failed:     {store.Evaluating, store.Failed},
	store.Approved:   {store.Evaluating, store.Passed, store.Approved},
	store.Rejected:   {store.Evaluating, store.Passed, store.Rejected},
	store.Withdrawn:  {store.Evaluating, store.Passed, store.Approved, store.Withdrawn},
	store.Abandoned:  {store.Abandoned},
}

// fixture creates a publisher and a plugin "redis" owned by it.
func fixture(t *testing.T, s store.Store) {
	t.Helper()
	ctx := context.Background()
	acme := must[store.Publisher](t, "create acme")(s.CreatePublisher(ctx, "acme"))
	must[store.Plugin](t, "create redis")(s.CreatePlugin(ctx, store.Plugin{Name: "redis", Owner: acme.ID}))
}

func newRelease(version string) store.NewRelease {
	return store.NewRelease{
		Plugin:   "redis",
		Version:  version,
		Manifest: json.RawMessage(`{"name": "redis", "version": "` + version + `", "collectors": ["info"]}`),
		Artifacts: []store.Artifact{
			{OS: "darwin", Arch: "arm64", Path: "redis/" + version + "/darwin_arm64.tar.gz", SHA256: "aa", Size: 10},
			{OS: "linux", Arch: "amd64", Path: "redis/" + version + "/linux_amd64.tar.gz", SHA256: "bb", Size: 20},
		},
		Signature: &store.Signature{SHA256Sums: []byte("aa  darwin_arm64.tar.gz\nbb  linux_amd64.tar.gz\n"), Signature: []byte{1, 2, 3}, KeyID: "acme-1"},
		Actor:     "plugin:redis",
	}
}

func testReleases(t *testing.T, open Open) {
	ctx := context.Background()
	s, _ := open(t)
	fixture(t, s)
	nr := newRelease("1.0.0")
	r1 := must[store.Release](t, "create 1.0.0")(s.CreateRelease(ctx, nr))
	want := store.Release{Plugin: "redis", Version: "1.0.0", State: store.Pending, Manifest: nr.Manifest,
		Artifacts: nr.Artifacts, Signature: nr.Signature, Created: r1.Created}
	if d := cmp.Diff(want, r1); d != "" || r1.Created.IsZero() {
		t.Errorf("CreateRelease (-want +got):\n%s", d)
	}
	if d := cmp.Diff(r1, must[store.Release](t, "get")(s.Release(ctx, "redis", "1.0.0"))); d != "" {
		t.Errorf("Release (-want +got):\n%s", d)
	}
	bare := store.NewRelease{Plugin: "redis", Version: "1.1.0-rc.1+build.5", Manifest: json.RawMessage(`{}`), Actor: "plugin:redis"}
	r2 := must[store.Release](t, "create bare")(s.CreateRelease(ctx, bare))
	if r2.Signature != nil || r2.Artifacts != nil {
		t.Errorf("a release published without artifacts or signature has %+v %+v", r2.Artifacts, r2.Signature)
	}
	r2 = must[store.Release](t, "evaluate")(s.TransitionRelease(ctx, "redis", r2.Version, store.Evaluating, "evaluator", ""))
	for _, tc := range []struct {
		name string
		q    store.ReleaseQuery
		want []store.Release
	}{
		{"all", store.ReleaseQuery{}, []store.Release{r1, r2}},
		{"plugin", store.ReleaseQuery{Plugin: "redis"}, []store.Release{r1, r2}},
		{"other plugin", store.ReleaseQuery{Plugin: "nginx"}, nil},
		{"pending", store.ReleaseQuery{States: []store.State{store.Pending}}, []store.Release{r1}},
		{"two states", store.ReleaseQuery{Plugin: "redis", States: []store.State{store.Evaluating, store.Approved}}, []store.Release{r2}},
	} {
		got := must[[]store.Release](t, "list")(s.ListReleases(ctx, tc.q))
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("ListReleases(%s) (-want +got):\n%s", tc.name, d)
		}
	}
	_, err := s.ListReleases(ctx, store.ReleaseQuery{States: []store.State{"live"}})
	wantErr(t, "list unknown state", err, store.ErrInvalid)

	for _, tc := range []struct {
		name   string
		change func(*store.NewRelease)
		want   error
	}{
		{"duplicate version", func(r *store.NewRelease) {}, store.ErrConflict},
		{"unknown plugin", func(r *store.NewRelease) { r.Plugin = "memcached" }, store.ErrNotFound},
		{"v prefix", func(r *store.NewRelease) { r.Version = "v2.0.0" }, store.ErrInvalid},
		{"not semver", func(r *store.NewRelease) { r.Version = "2.0" }, store.ErrInvalid},
		{"bad manifest", func(r *store.NewRelease) { r.Version = "2.0.0"; r.Manifest = json.RawMessage(`{`) }, store.ErrInvalid},
		{"no actor", func(r *store.NewRelease) { r.Version = "2.0.0"; r.Actor = "" }, store.ErrInvalid},
		{"platform twice", func(r *store.NewRelease) {
			r.Version = "2.0.0"
			r.Artifacts = append(r.Artifacts, r.Artifacts[0])
		}, store.ErrConflict},
	} {
		r := newRelease("1.0.0")
		tc.change(&r)
		_, err := s.CreateRelease(ctx, r)
		wantErr(t, tc.name, err, tc.want)
	}
	// The refused "platform twice" release left nothing behind.
	_, err = s.Release(ctx, "redis", "2.0.0")
	wantErr(t, "half-created release", err, store.ErrNotFound)
	_, err = s.History(ctx, "redis", "2.0.0")
	wantErr(t, "history of missing release", err, store.ErrNotFound)
}

// drive moves a fresh release along path[to], returning the expected history.
func drive(t *testing.T, s store.Store, version string, to store.State) []store.TransitionRecord {
	t.Helper()
	ctx := context.Background()
	must[store.Release](t, "create "+version)(s.CreateRelease(ctx, newRelease(version)))
	hist := []store.TransitionRecord{{From: "", To: store.Pending, Actor: "plugin:redis", Reason: "published"}}
	from := store.Pending
	for i, st := range path[to] {
		reason := fmt.Sprintf("step %d", i)
		r := must[store.Release](t, fmt.Sprintf("%s → %s", from, st))(s.TransitionRelease(ctx, "redis", version, st, "admin", reason))
		if r.State != st {
			t.Fatalf("TransitionRelease(%s → %s) returned state %s", from, st, r.State)
		}
		hist = append(hist, store.TransitionRecord{From: from, To: st, Actor: "admin", Reason: reason})
		from = st
	}
	return hist
}

// checkHistory compares the recorded history, times aside, and checks
// that the times are set and do not go backwards.
func checkHistory(t *testing.T, s store.Store, version string, want []store.TransitionRecord) {
	t.Helper()
	got := must[[]store.TransitionRecord](t, "history")(s.History(context.Background(), "redis", version))
	if d := cmp.Diff(want, got, cmpopts.IgnoreFields(store.TransitionRecord{}, "At")); d != "" {
		t.Errorf("History(%s) (-want +got):\n%s", version, d)
	}
	for i, h := range got {
		if h.At.IsZero() || (i > 0 && h.At.Before(got[i-1].At)) {
			t.Errorf("History(%s)[%d] at %v, after %v", version, i, h.At, got[max(i-1, 0)].At)
		}
	}
}

func testAllowedTransitions(t *testing.T, open Open) {
	ctx := context.Background()
	s, _ := open(t)
	fixture(t, s)
	n := 0
	for _, from := range store.States {
		for _, to := range store.States {
			if !allowed[[2]store.State{from, to}] {
				continue
			}
			n++
			version := fmt.Sprintf("%d.0.0", n)
			hist := drive(t, s, version, from)
			r, err := s.TransitionRelease(ctx, "redis", version, to, "root", "because")
			if err != nil {
				t.Errorf("%s → %s: %v", from, to, err)
				continue
			}
			if r.State != to || r.Version != version || len(r.Artifacts) != 2 {
				t.Errorf("%s → %s returned %+v", from, to, r)
			}
			hist = append(hist, store.TransitionRecord{From: from, To: to, Actor: "root", Reason: "because"})
			checkHistory(t, s, version, hist)
		}
	}
	if n != len(allowed) {
		t.Fatalf("tested %d transitions, the table has %d", n, len(allowed))
	}
}

func testForbiddenTransitions(t *testing.T, open Open) {
	ctx := context.Background()
	s, _ := open(t)
	fixture(t, s)
	for i, tc := range []struct{ from, to store.State }{
		{store.Pending, store.Approved}, // skipping evaluation
		{store.Pending, store.Passed},
		{store.Evaluating, store.Approved},
		{store.Failed, store.Approved},   // a failed release is never approved
		{store.Failed, store.Evaluating}, // nor re-run: a fix is a new version
		{store.Rejected, store.Approved},
		{store.Approved, store.Pending},
		{store.Approved, store.Approved},
		{store.Withdrawn, store.Pending},
		{store.Abandoned, store.Approved}, // abandoned is final
		{store.Abandoned, store.Abandoned},
	} {
		if allowed[[2]store.State{tc.from, tc.to}] {
			t.Fatalf("%s → %s is allowed; fix the test", tc.from, tc.to)
		}
		version := fmt.Sprintf("%d.0.0", i+1)
		hist := drive(t, s, version, tc.from)
		_, err := s.TransitionRelease(ctx, "redis", version, tc.to, "root", "try")
		wantErr(t, fmt.Sprintf("%s → %s", tc.from, tc.to), err, store.ErrInvalidTransition)
		if got := must[store.Release](t, "get")(s.Release(ctx, "redis", version)); got.State != tc.from {
			t.Errorf("refused %s → %s left the release %s", tc.from, tc.to, got.State)
		}
		checkHistory(t, s, version, hist) // nothing recorded for the refusal
	}
	_, err := s.TransitionRelease(ctx, "redis", "9.9.9", store.Evaluating, "root", "")
	wantErr(t, "missing release", err, store.ErrNotFound)
	_, err = s.TransitionRelease(ctx, "redis", "1.0.0", "live", "root", "")
	wantErr(t, "unknown state", err, store.ErrInvalid)
	_, err = s.TransitionRelease(ctx, "redis", "1.0.0", store.Abandoned, "", "")
	wantErr(t, "no actor", err, store.ErrInvalid)
}

// testConcurrentTransitions races two transitions out of the same state,
// many times: exactly one may win each race, and only it is recorded.
func testConcurrentTransitions(t *testing.T, open Open) {
	ctx := context.Background()
	s, _ := open(t)
	fixture(t, s)
	races := []struct{ from, a, b store.State }{
		{store.Pending, store.Evaluating, store.Evaluating},
		{store.Passed, store.Approved, store.Rejected},
	}
	for i := range 20 {
		race := races[i%len(races)]
		version := fmt.Sprintf("%d.0.0", i+1)
		hist := drive(t, s, version, race.from)
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, 2)
		for j, to := range []store.State{race.a, race.b} {
			wg.Go(func() {
				<-start
				_, errs[j] = s.TransitionRelease(ctx, "redis", version, to, fmt.Sprintf("racer-%d", j), "race")
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for j, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("race %d (%s → %s | %s): both transitions won", i, race.from, race.a, race.b)
			case err == nil:
				winner = j
			default:
				wantErr(t, fmt.Sprintf("race %d loser", i), err, store.ErrInvalidTransition)
			}
		}
		if winner < 0 {
			t.Fatalf("race %d: neither transition won: %v", i, errs)
		}
		to := []store.State{race.a, race.b}[winner]
		hist = append(hist, store.TransitionRecord{From: race.from, To: to, Actor: fmt.Sprintf("racer-%d", winner), Reason: "race"})
		checkHistory(t, s, version, hist)
	}
}

func testEvaluations(t *testing.T, open Open) {
	ctx := context.Background()
	s, _ := open(t)
	fixture(t, s)
	must[store.Release](t, "create")(s.CreateRelease(ctx, newRelease("1.0.0")))
	must[store.Release](t, "create")(s.CreateRelease(ctx, newRelease("1.0.1")))
	if got := must[[]store.Evaluation](t, "none yet")(s.Evaluations(ctx, "redis", "1.0.0")); len(got) != 0 {
		t.Errorf("Evaluations before any: %+v", got)
	}
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 123456000, time.UTC)
	want := []store.Evaluation{
		{Report: json.RawMessage(`{"checks": [{"name": "unpack", "pass": false}]}`), Started: t0, Finished: t0.Add(1500 * time.Millisecond)},
		{Report: json.RawMessage(`{"checks": [{"name": "unpack", "pass": true}]}`), Started: t0.Add(time.Hour), Finished: t0.Add(time.Hour + time.Second)},
	}
	for _, e := range want {
		wantErr(t, "add evaluation", s.AddEvaluation(ctx, "redis", "1.0.0", e), nil)
	}
	if d := cmp.Diff(want, must[[]store.Evaluation](t, "list")(s.Evaluations(ctx, "redis", "1.0.0"))); d != "" {
		t.Errorf("Evaluations (-want +got):\n%s", d)
	}
	if got := must[[]store.Evaluation](t, "other")(s.Evaluations(ctx, "redis", "1.0.1")); len(got) != 0 {
		t.Errorf("another release's evaluations leaked: %+v", got)
	}
	wantErr(t, "missing release", s.AddEvaluation(ctx, "redis", "9.0.0", want[0]), store.ErrNotFound)
	wantErr(t, "bad report", s.AddEvaluation(ctx, "redis", "1.0.0", store.Evaluation{Report: json.RawMessage(`nope`)}), store.ErrInvalid)
	_, err := s.Evaluations(ctx, "redis", "9.0.0")
	wantErr(t, "evaluations of missing release", err, store.ErrNotFound)
}

func testDeleteRelease(t *testing.T, open Open) {
	ctx := context.Background()
	s, _ := open(t)
	fixture(t, s)
	drive(t, s, "1.0.0", store.Approved)
	keep := must[store.Release](t, "create 1.0.1")(s.CreateRelease(ctx, newRelease("1.0.1")))
	wantErr(t, "add evaluation", s.AddEvaluation(ctx, "redis", "1.0.0",
		store.Evaluation{Report: json.RawMessage(`{}`), Started: time.Unix(1, 0), Finished: time.Unix(2, 0)}), nil)
	keepHistory := must[[]store.TransitionRecord](t, "history of 1.0.1")(s.History(ctx, "redis", "1.0.1"))

	wantErr(t, "delete without actor", s.DeleteRelease(ctx, "redis", "1.0.0", ""), store.ErrInvalid)
	wantErr(t, "delete", s.DeleteRelease(ctx, "redis", "1.0.0", "admin"), nil)

	_, err := s.Release(ctx, "redis", "1.0.0")
	wantErr(t, "deleted release", err, store.ErrNotFound)
	_, err = s.History(ctx, "redis", "1.0.0")
	wantErr(t, "history of deleted release", err, store.ErrNotFound)
	_, err = s.Evaluations(ctx, "redis", "1.0.0")
	wantErr(t, "evaluations of deleted release", err, store.ErrNotFound)
	wantErr(t, "delete twice", s.DeleteRelease(ctx, "redis", "1.0.0", "admin"), store.ErrNotFound)
	wantErr(t, "delete missing plugin", s.DeleteRelease(ctx, "memcached", "1.0.0", "admin"), store.ErrNotFound)

	// The other version is untouched, and its versions list has only it.
	if d := cmp.Diff([]store.Release{keep}, must[[]store.Release](t, "list")(s.ListReleases(ctx, store.ReleaseQuery{Plugin: "redis"}))); d != "" {
		t.Errorf("ListReleases after delete (-want +got):\n%s", d)
	}
	if d := cmp.Diff(keepHistory, must[[]store.TransitionRecord](t, "history")(s.History(ctx, "redis", "1.0.1"))); d != "" {
		t.Errorf("History of the other release (-want +got):\n%s", d)
	}
	// The version can be published again, from scratch.
	again := must[store.Release](t, "republish")(s.CreateRelease(ctx, newRelease("1.0.0")))
	if again.State != store.Pending {
		t.Errorf("republished release is %s, want pending", again.State)
	}
	if got := must[[]store.TransitionRecord](t, "history")(s.History(ctx, "redis", "1.0.0")); len(got) != 1 {
		t.Errorf("republished release inherited history: %+v", got)
	}
	if got := must[[]store.Evaluation](t, "evaluations")(s.Evaluations(ctx, "redis", "1.0.0")); len(got) != 0 {
		t.Errorf("republished release inherited evaluations: %+v", got)
	}
}
