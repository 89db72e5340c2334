package fleet

import (
	"context"
	"errors"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/registry/internal/metrics"
	"github.com/vigilmon/vigil/registry/internal/store"
	"github.com/vigilmon/vigil/registry/internal/store/sqlite"
)

// recorder is a Writer that keeps what each flush wrote, and fails when
// told to.
type recorder struct {
	latest  [][]store.LatestValue
	results [][]store.PromiseResult
	fail    error
}

func (r *recorder) PutLatest(_ context.Context, v []store.LatestValue) error {
	if r.fail != nil {
		return r.fail
	}
	sort.Slice(v, func(i, j int) bool {
		a, b := v[i], v[j]
		if a.Node+a.Measurement+a.Tags != b.Node+b.Measurement+b.Tags {
			return a.Node+a.Measurement+a.Tags < b.Node+b.Measurement+b.Tags
		}
		return a.Field < b.Field
	})
	r.latest = append(r.latest, v)
	return nil
}

func (r *recorder) PutPromiseResults(_ context.Context, v []store.PromiseResult) error {
	if r.fail != nil {
		return r.fail
	}
	sort.Slice(v, func(i, j int) bool { return v[i].Node+v[i].Promise < v[j].Node+v[j].Promise })
	r.results = append(r.results, v)
	return nil
}

func pt(m string, ns int64, tags []metrics.Tag, fields ...metrics.Field) metrics.Point {
	return metrics.Point{Measurement: m, Tags: tags, Fields: fields, Time: ns}
}

func tags(kv ...string) []metrics.Tag {
	var ts []metrics.Tag
	for i := 0; i < len(kv); i += 2 {
		ts = append(ts, metrics.Tag{Key: kv[i], Value: kv[i+1]})
	}
	return ts
}

func fl(k string, v float64) metrics.Field {
	return metrics.Field{Key: k, Value: metrics.Value{Kind: metrics.Float, F: v}}
}
func in(k string, v int64) metrics.Field {
	return metrics.Field{Key: k, Value: metrics.Value{Kind: metrics.Int, I: v}}
}
func str(k, v string) metrics.Field {
	return metrics.Field{Key: k, Value: metrics.Value{Kind: metrics.String, S: v}}
}
func bo(k string, v bool) metrics.Field {
	return metrics.Field{Key: k, Value: metrics.Value{Kind: metrics.Bool, B: v}}
}

func at(ns int64) time.Time { return time.Unix(0, ns).UTC() }

func TestTrackerLatest(t *testing.T) {
	rec := &recorder{}
	tr := New(rec)
	tr.Observe([]metrics.Point{
		pt("cpu", 10, tags("cpu", "0", "node", "web-1"), fl("usage", 1), in("n", 1)),
		pt("cpu", 5, tags("cpu", "0", "node", "web-1"), fl("usage", 99)), // older: ignored
		pt("cpu", 20, tags("cpu", "0", "node", "web-1"), fl("usage", 2)),
		pt("disk", 7, tags("a,b", "x=y", "node", "web-2", "path", `c:\`), str("label", "root")),
		pt("cpu", 30, tags("cpu", "0"), fl("usage", 3)), // no node: skipped
	})
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := [][]store.LatestValue{{
		{Node: "web-1", Measurement: "cpu", Tags: "cpu=0", Field: "n", Value: int64(1), Time: at(10)},
		{Node: "web-1", Measurement: "cpu", Tags: "cpu=0", Field: "usage", Value: 2.0, Time: at(20)},
		{Node: "web-2", Measurement: "disk", Tags: `a\,b=x\=y,path=c:\\`, Field: "label", Value: "root", Time: at(7)},
	}}
	if diff := cmp.Diff(want, rec.latest); diff != "" {
		t.Errorf("first flush (-want +got):\n%s", diff)
	}

	// Only what changed is written again; an older value changes nothing.
	tr.Observe([]metrics.Point{
		pt("cpu", 25, tags("cpu", "0", "node", "web-1"), fl("usage", 4)),
		pt("cpu", 8, tags("cpu", "0", "node", "web-1"), in("n", 9)), // older than n's 10
	})
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	want = append(want, []store.LatestValue{
		{Node: "web-1", Measurement: "cpu", Tags: "cpu=0", Field: "usage", Value: 4.0, Time: at(25)},
	})
	if diff := cmp.Diff(want, rec.latest); diff != "" {
		t.Errorf("second flush (-want +got):\n%s", diff)
	}
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(rec.latest) != 2 {
		t.Errorf("a flush with nothing new wrote %v", rec.latest[2:])
	}
}

// TestTrackerFieldsInAnyOrder: a series' fields are found whatever their
// order in a point, and a field new to the series is added.
func TestTrackerFieldsInAnyOrder(t *testing.T) {
	rec := &recorder{}
	tr := New(rec)
	s := tags("node", "web-1")
	tr.Observe([]metrics.Point{
		pt("m", 1, s, fl("a", 1), fl("b", 1), fl("c", 1)),
		pt("m", 2, s, fl("c", 2), fl("b", 2), fl("a", 2)),
		pt("m", 3, s, fl("d", 3), fl("a", 3)),
		pt("m", 4, s, fl("b", 4)),
		pt("m", 0, s, fl("c", 9), fl("d", 9)), // older than both
	})
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := [][]store.LatestValue{{
		{Node: "web-1", Measurement: "m", Field: "a", Value: 3.0, Time: at(3)},
		{Node: "web-1", Measurement: "m", Field: "b", Value: 4.0, Time: at(4)},
		{Node: "web-1", Measurement: "m", Field: "c", Value: 2.0, Time: at(2)},
		{Node: "web-1", Measurement: "m", Field: "d", Value: 3.0, Time: at(3)},
	}}
	if diff := cmp.Diff(want, rec.latest); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestTrackerPromiseResults(t *testing.T) {
	rec := &recorder{}
	tr := New(rec)
	tr.Observe([]metrics.Point{
		pt("promise", 10, tags("node", "web-1", "plugin", "system", "promise", "disk-root"),
			in("status", 2), str("message", "disk full"), fl("duration_ms", 1.5), bo("anomaly", true)),
		pt("promise", 5, tags("node", "web-1", "plugin", "system", "promise", "disk-root"), in("status", 0)), // older
		pt("promise", 11, tags("node", "web-1", "plugin", "exec", "promise", "load"), fl("status", 1), in("duration_ms", 3)),
		pt("promise", 12, tags("node", "web-1", "plugin", "exec", "promise", "bad"), in("status", 7)),     // not a status
		pt("promise", 12, tags("node", "web-1", "plugin", "exec", "promise", "half"), fl("status", 1.5)),  // not a status
		pt("promise", 12, tags("node", "web-1", "promise", "no-plugin"), in("status", 0)),                 // no plugin tag
		pt("check", 12, tags("node", "web-1", "plugin", "exec", "promise", "other"), in("status", 0)),     // not a promise
		pt("promise", 13, tags("node", "web-1", "plugin", "exec", "promise", "no-status"), in("code", 0)), // no status
	})
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := [][]store.PromiseResult{{
		{Node: "web-1", Plugin: "system", Promise: "disk-root", Status: 2, Message: "disk full", Anomaly: true, DurationMS: 1.5, Time: at(10)},
		{Node: "web-1", Plugin: "exec", Promise: "load", Status: 1, DurationMS: 3, Time: at(11)},
	}}
	if diff := cmp.Diff(want, rec.results); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
}

func TestTrackerRetriesFailedFlush(t *testing.T) {
	rec := &recorder{fail: errors.New("disk full")}
	tr := New(rec)
	tr.Observe([]metrics.Point{
		pt("cpu", 10, tags("node", "n"), fl("v", 1)),
		pt("promise", 10, tags("node", "n", "plugin", "p", "promise", "x"), in("status", 0)),
	})
	if err := tr.Flush(context.Background()); !errors.Is(err, rec.fail) {
		t.Fatalf("Flush: %v, want %v", err, rec.fail)
	}
	rec.fail = nil
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantLatest := [][]store.LatestValue{{
		{Node: "n", Measurement: "cpu", Field: "v", Value: 1.0, Time: at(10)},
		{Node: "n", Measurement: "promise", Tags: "plugin=p,promise=x", Field: "status", Value: int64(0), Time: at(10)},
	}}
	if diff := cmp.Diff(wantLatest, rec.latest); diff != "" {
		t.Errorf("latest after retry (-want +got):\n%s", diff)
	}
	wantResults := [][]store.PromiseResult{{{Node: "n", Plugin: "p", Promise: "x", Time: at(10)}}}
	if diff := cmp.Diff(wantResults, rec.results); diff != "" {
		t.Errorf("results after retry (-want +got):\n%s", diff)
	}
}

func TestTrackerForgetsIdleSeries(t *testing.T) {
	tr := New(&recorder{})
	tr.Observe([]metrics.Point{pt("cpu", 10, tags("node", "n"), fl("v", 1))})
	var sizes []int
	for range 3 {
		if err := tr.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(tr.series))
	}
	if diff := cmp.Diff([]int{1, 1, 0}, sizes); diff != "" {
		t.Errorf("series held after each flush (-want +got):\n%s", diff)
	}
}

// TestTrackerCopiesStrings checks that nothing of the points is kept:
// ingest reuses their memory.
func TestTrackerCopiesStrings(t *testing.T) {
	rec := &recorder{}
	tr := New(rec)
	buf := []byte("cpuhostnode")
	msg := []byte("hello")
	tr.Observe([]metrics.Point{pt(string(buf[:3]), 1, tags("node", "n"), str("m", string(msg)))})
	copy(buf, "XXXXXXXXXXX")
	copy(msg, "XXXXX")
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := [][]store.LatestValue{{{Node: "n", Measurement: "cpu", Field: "m", Value: "hello", Time: at(1)}}}
	if diff := cmp.Diff(want, rec.latest); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestTrackerSQLite flushes into the real store and reads it back.
func TestTrackerSQLite(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fs, ok := st.(store.Fleet)
	if !ok {
		t.Fatal("the SQLite store does not implement store.Fleet")
	}
	tr := New(fs)
	tr.Observe([]metrics.Point{
		pt("cpu", 10, tags("cpu", "0", "node", "web-1"), fl("usage", 1.5)),
		pt("promise", 10, tags("node", "web-1", "plugin", "system", "promise", "disk"), in("status", 1), str("message", "low")),
	})
	if err := tr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	latest, err := fs.Latest(ctx, "web-1")
	if err != nil {
		t.Fatal(err)
	}
	results, err := fs.PromiseResults(ctx, "web-1")
	if err != nil {
		t.Fatal(err)
	}
	wantLatest := []store.LatestValue{
		{Node: "web-1", Measurement: "cpu", Tags: "cpu=0", Field: "usage", Value: 1.5, Time: at(10)},
		{Node: "web-1", Measurement: "promise", Tags: "plugin=system,promise=disk", Field: "message", Value: "low", Time: at(10)},
		{Node: "web-1", Measurement: "promise", Tags: "plugin=system,promise=disk", Field: "status", Value: int64(1), Time: at(10)},
	}
	if diff := cmp.Diff(wantLatest, latest); diff != "" {
		t.Errorf("latest (-want +got):\n%s", diff)
	}
	wantResults := []store.PromiseResult{{Node: "web-1", Plugin: "system", Promise: "disk", Status: 1, Message: "low", Time: at(10)}}
	if diff := cmp.Diff(wantResults, results); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
}

// failAfter is a Writer that takes n PutLatest calls, then fails.
type failAfter struct {
	recorder
	n int
}

func (f *failAfter) PutLatest(ctx context.Context, v []store.LatestValue) error {
	if f.n == 0 {
		return errors.New("disk full")
	}
	f.n--
	return f.recorder.PutLatest(ctx, v)
}

// TestTrackerFlushesInBatches checks that a flush writes whole series in
// calls of at most the batch size, and that after a failed call the values
// not written (that one and those after it) are written by the next flush.
func TestTrackerFlushesInBatches(t *testing.T) {
	w := &failAfter{n: 1}
	tr := New(w)
	tr.batch = 4
	var points []metrics.Point
	for i := range 5 {
		n := string(rune('a' + i))
		points = append(points, pt("cpu", 10, tags("node", n), fl("x", 1), fl("y", 2)))
	}
	tr.Observe(points)
	if err := tr.Flush(context.Background()); err == nil {
		t.Fatal("Flush did not report the failed write")
	}
	w.n = 100
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var sizes []int
	written := map[string]int{}
	for _, call := range w.latest {
		sizes = append(sizes, len(call))
		for _, v := range call {
			written[v.Node+"."+v.Field]++
		}
	}
	if diff := cmp.Diff([]int{4, 4, 2}, sizes); diff != "" {
		t.Errorf("values per PutLatest call (-want +got):\n%s", diff)
	}
	want := map[string]int{"a.x": 1, "a.y": 1, "b.x": 1, "b.y": 1, "c.x": 1, "c.y": 1, "d.x": 1, "d.y": 1, "e.x": 1, "e.y": 1}
	if diff := cmp.Diff(want, written); diff != "" {
		t.Errorf("values written (-want +got):\n%s", diff)
	}
}

// TestTrackerFlushKeepsNewerValue checks that a value observed while the
// flush of an older one fails is the one the next flush writes.
func TestTrackerFlushKeepsNewerValue(t *testing.T) {
	rec := &recorder{}
	tr := New(rec)
	tr.Observe([]metrics.Point{pt("cpu", 10, tags("node", "n"), fl("v", 1))})
	queue, _, _ := tr.collect()
	_, refs, rest := tr.takeValues(queue)
	tr.Observe([]metrics.Point{pt("cpu", 20, tags("node", "n"), fl("v", 2))})
	tr.redirtyFields(refs, rest) // the write of v=1 failed
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := [][]store.LatestValue{{{Node: "n", Measurement: "cpu", Field: "v", Value: 2.0, Time: at(20)}}}
	if diff := cmp.Diff(want, rec.latest); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
