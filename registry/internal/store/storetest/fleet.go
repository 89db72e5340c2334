package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/registry/internal/store"
)

// t0 is the suite's reference time; it has nanoseconds so that a test sees
// which precision a backend keeps.
var t0 = time.Date(2025, 3, 4, 5, 6, 7, 891234567, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// micro is what the store keeps of a registry-clock time.
func micro(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// claim is what the batch tests expect of a claim.
func claim(fresh bool, owner string, confirmed bool) store.BatchClaim {
	return store.BatchClaim{Fresh: fresh, Owner: owner, Confirmed: confirmed}
}

func testRememberBatch(t *testing.T, open Open) {
	ctx := context.Background()
	s, _ := open(t)
	for _, step := range []struct {
		name, node, id, owner string
		want                  store.BatchClaim
	}{
		{"first batch", "web-1", "b1", "reg-a", claim(true, "reg-a", false)},
		{"again, same owner", "web-1", "b1", "reg-a", claim(false, "reg-a", false)},
		{"again, another owner", "web-1", "b1", "reg-b", claim(false, "reg-a", false)},
		{"next batch", "web-1", "b2", "reg-b", claim(true, "reg-b", false)},
		{"same id from another node", "web-2", "b1", "reg-b", claim(true, "reg-b", false)},
		{"its replay", "web-2", "b1", "reg-a", claim(false, "reg-b", false)},
	} {
		got, err := s.RememberBatch(ctx, step.node, step.id, step.owner, at(0))
		wantErr(t, step.name, err, nil)
		if diff := cmp.Diff(step.want, got); diff != "" {
			t.Errorf("%s: RememberBatch(%s, %s, %s) (-want +got):\n%s", step.name, step.node, step.id, step.owner, diff)
		}
	}
	for _, tc := range []struct{ name, node, id, owner string }{
		{"no node", "", "b1", "reg-a"},
		{"no id", "web-1", "", "reg-a"},
		{"no owner", "web-1", "b9", ""},
	} {
		_, err := s.RememberBatch(ctx, tc.node, tc.id, tc.owner, at(0))
		wantErr(t, tc.name, err, store.ErrInvalid)
	}
}

// testConfirmBatches: a confirmed claim reads back confirmed, with its
// owner; other claims, unknown and repeated keys are left alone; a call
// larger than one statement confirms every key.
func testConfirmBatches(t *testing.T, open Open) {
	ctx := context.Background()
	s, _ := open(t)
	for _, b := range [][3]string{{"web-1", "b1", "reg-a"}, {"web-1", "b2", "reg-a"}, {"web-2", "b1", "reg-b"}} {
		must[store.BatchClaim](t, "remember")(s.RememberBatch(ctx, b[0], b[1], b[2], at(0)))
	}
	wantErr(t, "confirm nothing", s.ConfirmBatches(ctx, nil), nil)
	wantErr(t, "confirm", s.ConfirmBatches(ctx, []store.BatchKey{
		{Node: "web-1", ID: "b1"}, {Node: "web-2", ID: "b1"}, {Node: "web-1", ID: "b1"}, {Node: "web-9", ID: "unknown"},
	}), nil)
	wantErr(t, "confirm again", s.ConfirmBatches(ctx, []store.BatchKey{{Node: "web-1", ID: "b1"}}), nil)
	for _, tc := range []struct {
		node, id string
		want     store.BatchClaim
	}{
		{"web-1", "b1", claim(false, "reg-a", true)},
		{"web-1", "b2", claim(false, "reg-a", false)},
		{"web-2", "b1", claim(false, "reg-b", true)},
		{"web-9", "unknown", claim(true, "reg-c", false)},
	} {
		got := must[store.BatchClaim](t, "claim")(s.RememberBatch(ctx, tc.node, tc.id, "reg-c", at(0)))
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("after ConfirmBatches, RememberBatch(%s, %s) (-want +got):\n%s", tc.node, tc.id, diff)
		}
	}

	const many = 600 // more than one statement's worth
	keys := make([]store.BatchKey, many)
	for i := range keys {
		keys[i] = store.BatchKey{Node: "web-3", ID: fmt.Sprintf("m%03d", i)}
		must[store.BatchClaim](t, "remember")(s.RememberBatch(ctx, keys[i].Node, keys[i].ID, "reg-a", at(0)))
	}
	wantErr(t, "confirm many", s.ConfirmBatches(ctx, keys), nil)
	unconfirmed := 0
	for _, k := range keys {
		if c := must[store.BatchClaim](t, "claim")(s.RememberBatch(ctx, k.Node, k.ID, "reg-c", at(0))); !c.Confirmed {
			unconfirmed++
		}
	}
	if unconfirmed != 0 {
		t.Errorf("ConfirmBatches of %d keys left %d unconfirmed", many, unconfirmed)
	}
}

// testTakeOverBatch: the take-over is a compare-and-set on an unconfirmed
// claim's owner.
func testTakeOverBatch(t *testing.T, open Open) {
	ctx := context.Background()
	s, _ := open(t)
	must[store.BatchClaim](t, "remember")(s.RememberBatch(ctx, "web-1", "b1", "dead", at(0)))
	for _, step := range []struct {
		name, id, from, to string
		confirm            bool // confirm b1 first
		took               bool
		want               store.BatchClaim // b1's claim after the step
	}{
		{name: "wrong from", id: "b1", from: "reg-x", to: "reg-a", want: claim(false, "dead", false)},
		{name: "unknown id", id: "b9", from: "dead", to: "reg-a", want: claim(false, "dead", false)},
		{name: "take over", id: "b1", from: "dead", to: "reg-a", took: true, want: claim(false, "reg-a", false)},
		{name: "from the old owner again", id: "b1", from: "dead", to: "reg-b", want: claim(false, "reg-a", false)},
		{name: "from the new owner", id: "b1", from: "reg-a", to: "reg-b", took: true, want: claim(false, "reg-b", false)},
		{name: "confirmed", id: "b1", from: "reg-b", to: "reg-c", confirm: true, want: claim(false, "reg-b", true)},
	} {
		if step.confirm {
			wantErr(t, step.name+": confirm", s.ConfirmBatches(ctx, []store.BatchKey{{Node: "web-1", ID: "b1"}}), nil)
		}
		took, err := s.TakeOverBatch(ctx, "web-1", step.id, step.from, step.to)
		wantErr(t, step.name, err, nil)
		if took != step.took {
			t.Errorf("%s: TakeOverBatch(%s, %s → %s) = %v, want %v", step.name, step.id, step.from, step.to, took, step.took)
		}
		got := must[store.BatchClaim](t, "claim")(s.RememberBatch(ctx, "web-1", "b1", "reg-z", at(0)))
		if diff := cmp.Diff(step.want, got); diff != "" {
			t.Errorf("%s: the claim afterwards (-want +got):\n%s", step.name, diff)
		}
	}
	if c := must[store.BatchClaim](t, "claim b9")(s.RememberBatch(ctx, "web-1", "b9", "reg-z", at(0))); !c.Fresh {
		t.Errorf("TakeOverBatch of an unknown id made a claim: %+v", c)
	}
	_, err := s.TakeOverBatch(ctx, "web-1", "b1", "reg-b", "")
	wantErr(t, "no new owner", err, store.ErrInvalid)
}

// testConcurrentTakeOverBatch: of owners racing to take one dead claim
// over, exactly one wins, and the claim is the winner's.
func testConcurrentTakeOverBatch(t *testing.T, open Open) {
	ctx := context.Background()
	s, _ := open(t)
	const ids, callers = 10, 8
	for id := range ids {
		must[store.BatchClaim](t, "remember")(s.RememberBatch(ctx, "web-1", fmt.Sprintf("batch-%d", id), "dead", at(0)))
	}
	var wg sync.WaitGroup
	took := make([][callers]bool, ids)
	errs := make(chan error, ids*callers)
	for id := range ids {
		for c := range callers {
			wg.Go(func() {
				ok, err := s.TakeOverBatch(ctx, "web-1", fmt.Sprintf("batch-%d", id), "dead", fmt.Sprintf("reg-%d", c))
				if err != nil {
					errs <- err
				}
				took[id][c] = ok
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("TakeOverBatch: %v", err)
	}
	for id := range ids {
		var winners []string
		for c, ok := range took[id] {
			if ok {
				winners = append(winners, fmt.Sprintf("reg-%d", c))
			}
		}
		if len(winners) != 1 {
			t.Errorf("batch-%d: %d of %d concurrent callers took it over (%v), want 1", id, len(winners), callers, winners)
			continue
		}
		got := must[store.BatchClaim](t, "claim")(s.RememberBatch(ctx, "web-1", fmt.Sprintf("batch-%d", id), "reg-z", at(0)))
		if diff := cmp.Diff(claim(false, winners[0], false), got); diff != "" {
			t.Errorf("batch-%d: the claim after the race (-want +got):\n%s", id, diff)
		}
	}
}

func testForgetBatch(t *testing.T, open Open) {
	ctx := context.Background()
	s, _ := open(t)
	for _, b := range [][2]string{{"web-1", "b1"}, {"web-2", "b1"}} {
		must[store.BatchClaim](t, "remember")(s.RememberBatch(ctx, b[0], b[1], "reg-a", at(0)))
	}
	wantErr(t, "forget", s.ForgetBatch(ctx, "web-1", "b1"), nil)
	wantErr(t, "forget again", s.ForgetBatch(ctx, "web-1", "b1"), nil)
	for _, tc := range []struct {
		node string
		want store.BatchClaim
	}{{"web-1", claim(true, "reg-b", false)}, {"web-2", claim(false, "reg-a", false)}} {
		got := must[store.BatchClaim](t, "remember")(s.RememberBatch(ctx, tc.node, "b1", "reg-b", at(0)))
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("after ForgetBatch(web-1, b1), RememberBatch(%s, b1) (-want +got):\n%s", tc.node, diff)
		}
	}
}

func testForgetBatches(t *testing.T, open Open) {
	ctx := context.Background()
	s, _ := open(t)
	for i, b := range []struct {
		node, id string
		at       time.Time
	}{
		{"web-1", "old", at(-2 * time.Hour)},
		{"web-2", "old", at(-time.Hour - time.Microsecond)},
		{"web-1", "edge", at(-time.Hour)},
		{"web-1", "new", at(0)},
	} {
		if c := must[store.BatchClaim](t, "remember")(s.RememberBatch(ctx, b.node, b.id, "reg-a", b.at)); !c.Fresh {
			t.Fatalf("batch %d (%s %s) not fresh", i, b.node, b.id)
		}
	}
	n := must[int64](t, "forget")(s.ForgetBatches(ctx, at(-time.Hour)))
	if n != 2 {
		t.Errorf("ForgetBatches(before 1h ago) = %d, want 2 (the two older ones)", n)
	}
	for _, tc := range []struct {
		node, id string
		fresh    bool
	}{
		{"web-1", "old", true},
		{"web-2", "old", true},
		{"web-1", "edge", false},
		{"web-1", "new", false},
	} {
		if c := must[store.BatchClaim](t, "remember again")(s.RememberBatch(ctx, tc.node, tc.id, "reg-a", at(time.Minute))); c.Fresh != tc.fresh {
			t.Errorf("after ForgetBatches, RememberBatch(%s, %s).Fresh = %v, want %v", tc.node, tc.id, c.Fresh, tc.fresh)
		}
	}
	if n := must[int64](t, "forget nothing")(s.ForgetBatches(ctx, at(-time.Hour))); n != 0 {
		t.Errorf("second ForgetBatches = %d, want 0", n)
	}
}

// testConcurrentRememberBatch: of callers racing with one batch id, exactly
// one is told the batch is fresh, and the others see its claim.
func testConcurrentRememberBatch(t *testing.T, open Open) {
	ctx := context.Background()
	s, _ := open(t)
	const ids, callers = 10, 8
	var wg sync.WaitGroup
	claims := make([][callers]store.BatchClaim, ids)
	errs := make(chan error, ids*callers)
	for id := range ids {
		for c := range callers {
			wg.Go(func() {
				got, err := s.RememberBatch(ctx, "web-1", fmt.Sprintf("batch-%d", id), fmt.Sprintf("reg-%d", c), at(0))
				if err != nil {
					errs <- err
				}
				claims[id][c] = got
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("RememberBatch: %v", err)
	}
	for id := range ids {
		var winners []string
		for c, got := range claims[id] {
			if got.Fresh {
				winners = append(winners, fmt.Sprintf("reg-%d", c))
			}
		}
		if len(winners) != 1 {
			t.Errorf("batch-%d: %d of %d concurrent callers were told it is fresh (%v), want 1", id, len(winners), callers, winners)
			continue
		}
		for c, got := range claims[id] {
			if !got.Fresh && got != claim(false, winners[0], false) {
				t.Errorf("batch-%d: reg-%d saw the claim as %+v, want %s's, unconfirmed", id, c, got, winners[0])
			}
		}
	}
}

func testNodes(t *testing.T, open Open) {
	ctx := context.Background()
	s, _ := open(t)
	paris := time.FixedZone("Paris", 3600)
	inventory := json.RawMessage(`{"plugins": [{"name": "system", "version": "1.2.0"}],  "z": 1, "a": 2}`)
	info := store.NodeInfo{AgentVersion: "0.4.0", Tags: map[string]string{"site": "paris", "role": "web"}, Inventory: inventory}
	type step struct {
		name string
		do   func() error
		want store.Node
	}
	for _, st := range []step{
		{"first contact", func() error { return s.TouchNode(ctx, "web-1", at(0).In(paris)) },
			store.Node{Name: "web-1", FirstSeen: micro(at(0)), LastSeen: micro(at(0))}},
		{"later", func() error { return s.TouchNode(ctx, "web-1", at(time.Minute)) },
			store.Node{Name: "web-1", FirstSeen: micro(at(0)), LastSeen: micro(at(time.Minute))}},
		{"last seen never moves back", func() error { return s.TouchNode(ctx, "web-1", at(time.Second)) },
			store.Node{Name: "web-1", FirstSeen: micro(at(0)), LastSeen: micro(at(time.Minute))}},
		{"first seen never moves forward, but back", func() error { return s.TouchNode(ctx, "web-1", at(-time.Hour)) },
			store.Node{Name: "web-1", FirstSeen: micro(at(-time.Hour)), LastSeen: micro(at(time.Minute))}},
		{"info", func() error { return s.SetNodeInfo(ctx, "web-1", info, at(2*time.Minute)) },
			store.Node{Name: "web-1", AgentVersion: "0.4.0", Tags: info.Tags, Inventory: inventory,
				FirstSeen: micro(at(-time.Hour)), LastSeen: micro(at(2 * time.Minute))}},
		{"touch keeps info", func() error { return s.TouchNode(ctx, "web-1", at(3*time.Minute)) },
			store.Node{Name: "web-1", AgentVersion: "0.4.0", Tags: info.Tags, Inventory: inventory,
				FirstSeen: micro(at(-time.Hour)), LastSeen: micro(at(3 * time.Minute))}},
		{"info replaced, old report", func() error {
			return s.SetNodeInfo(ctx, "web-1", store.NodeInfo{AgentVersion: "0.5.0", Tags: map[string]string{}}, at(time.Minute))
		},
			store.Node{Name: "web-1", AgentVersion: "0.5.0", Tags: map[string]string{},
				FirstSeen: micro(at(-time.Hour)), LastSeen: micro(at(3 * time.Minute))}},
	} {
		wantErr(t, st.name, st.do(), nil)
		got := must[store.Node](t, st.name)(s.Node(ctx, "web-1"))
		if d := cmp.Diff(st.want, got); d != "" {
			t.Errorf("%s: Node (-want +got):\n%s", st.name, d)
		}
	}

	wantErr(t, "info of a new node", s.SetNodeInfo(ctx, "db-1", info, at(time.Hour)), nil)
	wantErr(t, "touch Web-0", s.TouchNode(ctx, "Web-0", at(time.Hour)), nil)
	wantErr(t, "touch web-10", s.TouchNode(ctx, "web-10", at(time.Hour)), nil)
	db1 := store.Node{Name: "db-1", AgentVersion: "0.4.0", Tags: info.Tags, Inventory: inventory, FirstSeen: micro(at(time.Hour)), LastSeen: micro(at(time.Hour))}
	if d := cmp.Diff(db1, must[store.Node](t, "db-1")(s.Node(ctx, "db-1"))); d != "" {
		t.Errorf("node created by SetNodeInfo (-want +got):\n%s", d)
	}
	var names []string
	for _, n := range must[[]store.Node](t, "list")(s.ListNodes(ctx)) {
		names = append(names, n.Name)
	}
	if d := cmp.Diff([]string{"Web-0", "db-1", "web-1", "web-10"}, names); d != "" {
		t.Errorf("ListNodes, bytewise by name (-want +got):\n%s", d)
	}

	_, err := s.Node(ctx, "web-2")
	wantErr(t, "unknown node", err, store.ErrNotFound)
	wantErr(t, "touch without a name", s.TouchNode(ctx, "", at(0)), store.ErrInvalid)
	wantErr(t, "info without a name", s.SetNodeInfo(ctx, "", info, at(0)), store.ErrInvalid)
	wantErr(t, "inventory not JSON", s.SetNodeInfo(ctx, "db-1", store.NodeInfo{Inventory: json.RawMessage(`{"plugins":`)}, at(2*time.Hour)), store.ErrInvalid)
	if d := cmp.Diff(db1, must[store.Node](t, "db-1")(s.Node(ctx, "db-1"))); d != "" {
		t.Errorf("refused SetNodeInfo changed the node (-want +got):\n%s", d)
	}
}

// lv builds a LatestValue of node web-1.
func lv(measurement, tags, field string, v any, t time.Time) store.LatestValue {
	return store.LatestValue{Node: "web-1", Measurement: measurement, Tags: tags, Field: field, Value: v, Time: t}
}

func testLatestKinds(t *testing.T, open Open) {
	ctx := context.Background()
	s, _ := open(t)
	want := []store.LatestValue{
		lv("k", "", "bool false", false, at(0)),
		lv("k", "", "bool true", true, at(0)),
		lv("k", "", "float", 0.1, at(0)),
		lv("k", "", "float huge", math.MaxFloat64, at(0)),
		lv("k", "", "float integral", float64(3), at(0)),
		lv("k", "", "float tiny", math.SmallestNonzeroFloat64, at(0)),
		lv("k", "", "int", int64(-42), at(0)),
		lv("k", "", "int min", int64(math.MinInt64), at(0)),
		lv("k", "", "string", `a "quoted" string, with é and \ and 7`, at(0)),
		lv("k", "", "string empty", "", at(0)),
		lv("k", "", "uint", uint64(42), at(0)),
		lv("k", "", "uint max", uint64(math.MaxUint64), at(0)),
		lv("k", "", "zero time", 1.5, time.Unix(0, 0).UTC()),
	}
	wantErr(t, "put", s.PutLatest(ctx, want), nil)
	got := must[[]store.LatestValue](t, "latest")(s.Latest(ctx, "web-1"))
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Latest: every kind reads back as the same Go type and value (-want +got):\n%s", d)
	}

	for _, tc := range []struct {
		name string
		v    store.LatestValue
	}{
		{"int", lv("k", "", "f", 1, at(time.Hour))},
		{"float32", lv("k", "", "f", float32(1), at(time.Hour))},
		{"nil", lv("k", "", "f", nil, at(time.Hour))},
		{"no node", store.LatestValue{Measurement: "k", Field: "f", Value: 1.0, Time: at(time.Hour)}},
		{"no measurement", lv("", "", "f", 1.0, at(time.Hour))},
		{"no field", lv("k", "", "", 1.0, at(time.Hour))},
		{"no time", lv("k", "", "f", 1.0, time.Time{})},
	} {
		good := lv("k", "", "string", "overwritten?", at(time.Hour))
		wantErr(t, tc.name, s.PutLatest(ctx, []store.LatestValue{good, tc.v}), store.ErrInvalid)
	}
	if d := cmp.Diff(want, must[[]store.LatestValue](t, "latest")(s.Latest(ctx, "web-1"))); d != "" {
		t.Errorf("a refused PutLatest wrote (-want +got):\n%s", d)
	}
	wantErr(t, "empty put", s.PutLatest(ctx, nil), nil)
}

func testLatestNewest(t *testing.T, open Open) {
	ctx := context.Background()
	s, _ := open(t)
	other := func(v store.LatestValue) store.LatestValue { v.Node = "web-2"; return v }
	for _, st := range []struct {
		name string
		put  []store.LatestValue
		want []store.LatestValue // web-1's, after the put
	}{
		{"first values, unsorted",
			[]store.LatestValue{
				lv("mem", "", "used", int64(10), at(0)),
				lv("cpu", "cpu=cpu1", "user", 1.0, at(0)),
				lv("cpu", "cpu=cpu0", "user", 2.0, at(0)),
				lv("cpu", "cpu=cpu0", "system", 3.0, at(0)),
				other(lv("cpu", "cpu=cpu0", "user", 99.0, at(time.Hour))),
				lv("cpu", "", "user", 4.0, at(0)),
			},
			[]store.LatestValue{
				lv("cpu", "", "user", 4.0, at(0)),
				lv("cpu", "cpu=cpu0", "system", 3.0, at(0)),
				lv("cpu", "cpu=cpu0", "user", 2.0, at(0)),
				lv("cpu", "cpu=cpu1", "user", 1.0, at(0)),
				lv("mem", "", "used", int64(10), at(0)),
			}},
		{"newer replaces, older ignored, as old replaces, kind may change",
			[]store.LatestValue{
				lv("cpu", "cpu=cpu0", "user", 20.0, at(time.Nanosecond)),
				lv("cpu", "cpu=cpu1", "user", 10.0, at(-time.Nanosecond)),
				lv("cpu", "", "user", 40.0, at(0)),
				lv("mem", "", "used", "full", at(time.Second)),
			},
			[]store.LatestValue{
				lv("cpu", "", "user", 40.0, at(0)),
				lv("cpu", "cpu=cpu0", "system", 3.0, at(0)),
				lv("cpu", "cpu=cpu0", "user", 20.0, at(time.Nanosecond)),
				lv("cpu", "cpu=cpu1", "user", 1.0, at(0)),
				lv("mem", "", "used", "full", at(time.Second)),
			}},
		{"several for one key in a call: the newest, the later on a tie",
			[]store.LatestValue{
				lv("cpu", "cpu=cpu0", "system", 5.0, at(2*time.Second)),
				lv("cpu", "cpu=cpu0", "system", 6.0, at(3*time.Second)),
				lv("cpu", "cpu=cpu0", "system", 4.0, at(time.Second)),
				lv("cpu", "", "user", 41.0, at(time.Second)),
				lv("cpu", "", "user", 42.0, at(time.Second)),
				lv("cpu", "cpu=cpu1", "user", 0.5, at(-time.Second)),
				lv("cpu", "cpu=cpu1", "user", 0.25, at(-2*time.Second)),
			},
			[]store.LatestValue{
				lv("cpu", "", "user", 42.0, at(time.Second)),
				lv("cpu", "cpu=cpu0", "system", 6.0, at(3*time.Second)),
				lv("cpu", "cpu=cpu0", "user", 20.0, at(time.Nanosecond)),
				lv("cpu", "cpu=cpu1", "user", 1.0, at(0)),
				lv("mem", "", "used", "full", at(time.Second)),
			}},
	} {
		wantErr(t, st.name, s.PutLatest(ctx, st.put), nil)
		if d := cmp.Diff(st.want, must[[]store.LatestValue](t, "latest")(s.Latest(ctx, "web-1"))); d != "" {
			t.Errorf("%s: Latest(web-1) (-want +got):\n%s", st.name, d)
		}
	}
	want2 := []store.LatestValue{other(lv("cpu", "cpu=cpu0", "user", 99.0, at(time.Hour)))}
	if d := cmp.Diff(want2, must[[]store.LatestValue](t, "latest")(s.Latest(ctx, "web-2"))); d != "" {
		t.Errorf("Latest(web-2) (-want +got):\n%s", d)
	}
	if got := must[[]store.LatestValue](t, "latest")(s.Latest(ctx, "web-3")); len(got) != 0 {
		t.Errorf("Latest of a node without values = %v, want none", got)
	}
}

// testLatestMany puts more values than one statement carries, with
// duplicates, and checks every key lands once with its newest value.
func testLatestMany(t *testing.T, open Open) {
	ctx := context.Background()
	s, _ := open(t)
	const n = 1000
	var put, want []store.LatestValue
	for i := range n {
		v := lv("m", fmt.Sprintf("i=%04d", i), "f", int64(i), at(time.Duration(i)))
		want = append(want, v)
		if i%3 == 0 { // an older duplicate, before or after the newest
			old := v
			old.Value, old.Time = int64(-1), at(-time.Second)
			if i%2 == 0 {
				put = append(put, old, v)
			} else {
				put = append(put, v, old)
			}
			continue
		}
		put = append(put, v)
	}
	wantErr(t, "put many", s.PutLatest(ctx, put), nil)
	if d := cmp.Diff(want, must[[]store.LatestValue](t, "latest")(s.Latest(ctx, "web-1"))); d != "" {
		t.Errorf("Latest after a large put (-want +got):\n%s", d)
	}
}

// testConcurrentPutLatest: writers racing over the same keys, each in its
// own order, neither deadlock nor lose the newest value.
func testConcurrentPutLatest(t *testing.T, open Open) {
	ctx := context.Background()
	s, _ := open(t)
	const writers, rounds, keys = 4, 3, 300
	var wg sync.WaitGroup
	errs := make(chan error, writers*rounds)
	for w := range writers {
		wg.Go(func() {
			for r := range rounds {
				vs := make([]store.LatestValue, keys)
				for k := range keys {
					i := k
					if w%2 == 1 {
						i = keys - 1 - k // the other half write in reverse
					}
					vs[k] = lv("m", fmt.Sprintf("k=%04d", i), "f", int64(r*writers+w), at(time.Duration(r*writers+w)))
				}
				if err := s.PutLatest(ctx, vs); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent PutLatest: %v", err)
	}
	newest := int64(rounds*writers - 1)
	var want []store.LatestValue
	for i := range keys {
		want = append(want, lv("m", fmt.Sprintf("k=%04d", i), "f", newest, at(time.Duration(newest))))
	}
	if d := cmp.Diff(want, must[[]store.LatestValue](t, "latest")(s.Latest(ctx, "web-1"))); d != "" {
		t.Errorf("Latest after concurrent puts (-want +got):\n%s", d)
	}
}

// pr builds a PromiseResult.
func pr(node, plugin, promise string, status int, t time.Time) store.PromiseResult {
	return store.PromiseResult{Node: node, Plugin: plugin, Promise: promise, Status: status,
		Message: fmt.Sprintf("%s is %d", promise, status), Anomaly: status == 2, DurationMS: 12.5, Time: t}
}

func testPromiseResults(t *testing.T, open Open) {
	ctx := context.Background()
	s, _ := open(t)
	for _, st := range []struct {
		name string
		put  []store.PromiseResult
		want []store.PromiseResult // every node's, after the put
	}{
		{"first results, unsorted",
			[]store.PromiseResult{
				pr("web-1", "system", "load", 0, at(0)),
				pr("web-2", "http", "home", 1, at(0)),
				pr("web-1", "http", "home", 2, at(0)),
				pr("db-1", "system", "disk-root", 3, at(0)),
				pr("web-1", "http", "api", 0, at(0)),
			},
			[]store.PromiseResult{
				pr("db-1", "system", "disk-root", 3, at(0)),
				pr("web-1", "http", "api", 0, at(0)),
				pr("web-1", "http", "home", 2, at(0)),
				pr("web-1", "system", "load", 0, at(0)),
				pr("web-2", "http", "home", 1, at(0)),
			}},
		{"newer replaces, older ignored, duplicates in a call",
			[]store.PromiseResult{
				pr("web-1", "http", "home", 0, at(time.Nanosecond)),
				pr("web-1", "http", "api", 2, at(-time.Nanosecond)),
				pr("web-2", "http", "home", 2, at(2*time.Second)),
				pr("web-2", "http", "home", 3, at(time.Second)),
				pr("db-1", "system", "disk-root", 1, at(0)),
			},
			[]store.PromiseResult{
				pr("db-1", "system", "disk-root", 1, at(0)),
				pr("web-1", "http", "api", 0, at(0)),
				pr("web-1", "http", "home", 0, at(time.Nanosecond)),
				pr("web-1", "system", "load", 0, at(0)),
				pr("web-2", "http", "home", 2, at(2*time.Second)),
			}},
	} {
		wantErr(t, st.name, s.PutPromiseResults(ctx, st.put), nil)
		if d := cmp.Diff(st.want, must[[]store.PromiseResult](t, "all")(s.PromiseResults(ctx, ""))); d != "" {
			t.Errorf("%s: PromiseResults(\"\") (-want +got):\n%s", st.name, d)
		}
	}
	web1 := []store.PromiseResult{
		pr("web-1", "http", "api", 0, at(0)),
		pr("web-1", "http", "home", 0, at(time.Nanosecond)),
		pr("web-1", "system", "load", 0, at(0)),
	}
	if d := cmp.Diff(web1, must[[]store.PromiseResult](t, "web-1")(s.PromiseResults(ctx, "web-1"))); d != "" {
		t.Errorf("PromiseResults(web-1) (-want +got):\n%s", d)
	}
	if got := must[[]store.PromiseResult](t, "none")(s.PromiseResults(ctx, "web-3")); len(got) != 0 {
		t.Errorf("PromiseResults of a node without results = %v, want none", got)
	}

	for _, tc := range []struct {
		name string
		r    store.PromiseResult
	}{
		{"status 4", pr("web-1", "http", "api", 4, at(time.Hour))},
		{"status -1", pr("web-1", "http", "api", -1, at(time.Hour))},
		{"no node", pr("", "http", "api", 0, at(time.Hour))},
		{"no plugin", pr("web-1", "", "api", 0, at(time.Hour))},
		{"no promise", pr("web-1", "http", "", 0, at(time.Hour))},
		{"no time", pr("web-1", "http", "api", 0, time.Time{})},
		{"duration NaN", func() store.PromiseResult {
			r := pr("web-1", "http", "api", 0, at(time.Hour))
			r.DurationMS = math.NaN()
			return r
		}()},
	} {
		good := pr("web-1", "system", "load", 3, at(time.Hour))
		wantErr(t, tc.name, s.PutPromiseResults(ctx, []store.PromiseResult{good, tc.r}), store.ErrInvalid)
	}
	if d := cmp.Diff(web1, must[[]store.PromiseResult](t, "web-1")(s.PromiseResults(ctx, "web-1"))); d != "" {
		t.Errorf("a refused PutPromiseResults wrote (-want +got):\n%s", d)
	}
	wantErr(t, "empty put", s.PutPromiseResults(ctx, nil), nil)
}

// BenchPutLatest measures PutLatest of rows values on s (10 nodes, each
// with rows/10 series fields, mostly floats; rows up to 10,000 are
// distinct): "insert" writes new series each time, "update" newer values
// of the same series, as ingest does once the fleet is known. It reports
// rows/s.
func BenchPutLatest(b *testing.B, s store.Fleet, rows int) {
	ctx := context.Background()
	seq := 0 // makes every batch's nodes or times new, across rounds
	values := func(prefix string, t time.Time) []store.LatestValue {
		vs := make([]store.LatestValue, 0, rows)
		for i := range rows {
			j := i / 10
			var v any = float64(i) * 1.5
			switch i % 10 {
			case 7:
				v = int64(i)
			case 8:
				v = uint64(i)
			case 9:
				v = fmt.Sprintf("state %d", i)
			}
			vs = append(vs, store.LatestValue{
				Node:        fmt.Sprintf("%s-%02d", prefix, i%10),
				Measurement: fmt.Sprintf("m%d", j/10%10),
				Tags:        fmt.Sprintf("cpu=cpu%d,host=h", j/100),
				Field:       fmt.Sprintf("field_%d", j%10),
				Value:       v,
				Time:        t,
			})
		}
		return vs
	}
	run := func(b *testing.B, next func() []store.LatestValue) {
		b.Helper()
		batches := make([][]store.LatestValue, b.N)
		for i := range batches {
			seq++
			batches[i] = next()
		}
		b.ResetTimer()
		for i := range b.N {
			if err := s.PutLatest(ctx, batches[i]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
	}
	b.Run("insert", func(b *testing.B) {
		run(b, func() []store.LatestValue { return values(fmt.Sprintf("new%d", seq), t0) })
	})
	if err := s.PutLatest(ctx, values("node", t0)); err != nil {
		b.Fatal(err)
	}
	b.Run("update", func(b *testing.B) {
		run(b, func() []store.LatestValue { return values("node", at(time.Duration(seq)*time.Second)) })
	})
}
