package embedded

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/registry/internal/metrics"
	"github.com/vigilmon/vigil/registry/internal/metrics/metricstest"
)

// openTest opens a store in a new directory (or dir), closed at cleanup.
func openTest(t *testing.T, dir string, opts Options) *Store {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	st, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return st
}

// abandon drops the store as a crash would: no flush, no checkpoint, the
// log left as it is; only the files are closed and the lock released.
func (st *Store) abandon(t *testing.T) {
	t.Helper()
	st.life.Lock()
	st.closed = true
	st.life.Unlock()
	close(st.stop)
	st.bg.Wait()
	if err := errors.Join(st.wal.close(), st.db.close(), st.lock.Close()); err != nil {
		t.Fatalf("abandoning the store: %v", err)
	}
}

// stage wraps a store so that the conformance suite's Flush puts what was
// written where the stage says before the suite queries it.
type stage struct {
	*Store
	t    *testing.T
	dir  string
	opts Options
	to   string // "head", "sqlite", "reopen" or "replay"
}

func (s *stage) Flush(ctx context.Context) error {
	switch s.to {
	case "sqlite":
		return s.flushOnce(ctx, true)
	case "reopen":
		if err := s.Store.Close(); err != nil {
			return err
		}
	case "replay":
		s.abandon(s.t)
	default:
		return s.Store.Flush(ctx)
	}
	st, err := Open(s.dir, s.opts)
	s.Store = st
	return err
}

// TestConformance runs the suite both backends pass with the points in
// the head, flushed to SQLite, after a clean reopen and after a crash
// (replayed from the log).
func TestConformance(t *testing.T) {
	for _, to := range []string{"head", "sqlite", "reopen", "replay"} {
		t.Run(to, func(t *testing.T) {
			metricstest.Run(t, func(t *testing.T) metrics.Store {
				opts := Options{FlushInterval: time.Hour}
				s := &stage{t: t, dir: t.TempDir(), opts: opts, to: to}
				st, err := Open(s.dir, opts)
				if err != nil {
					t.Fatal(err)
				}
				s.Store = st
				t.Cleanup(func() {
					if err := s.Store.Close(); err != nil {
						t.Errorf("Close: %v", err)
					}
				})
				return s
			})
		})
	}
}

var t0 = time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)

func fpoint(node string, d time.Duration, v float64) metrics.Point {
	return metrics.Point{
		Measurement: "m", Tags: []metrics.Tag{{Key: "node", Value: node}},
		Fields: []metrics.Field{{Key: "v", Value: metrics.Value{Kind: metrics.Float, F: v}}},
		Time:   t0.Add(d).UnixNano(),
	}
}

func write(t *testing.T, st *Store, pts ...metrics.Point) {
	t.Helper()
	if err := st.Write(t.Context(), pts); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

// raw returns every sample of field v of m for node, over all time.
func raw(t *testing.T, st *Store, node string) []metrics.Sample {
	t.Helper()
	got, err := st.Query(t.Context(), metrics.Query{Measurement: "m", Field: "v", Node: node,
		From: time.Unix(0, -1<<62), To: time.Unix(0, 1<<62)})
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	switch len(got) {
	case 0:
		return nil
	case 1:
		return got[0].Samples
	}
	t.Fatalf("Query: %d series; want at most 1", len(got))
	return nil
}

func samples(pairs ...float64) []metrics.Sample {
	var out []metrics.Sample
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, metrics.Sample{Time: t0.Add(time.Duration(pairs[i]) * time.Second), Value: pairs[i+1]})
	}
	return out
}

// values reads every sample of one series straight from its chunks, whatever
// its kinds, in write order.
func values(t *testing.T, st *Store, measurement, field string) []tv {
	t.Helper()
	ss := st.dict.match(metrics.Query{Measurement: measurement, Field: field})
	if len(ss) != 1 {
		t.Fatalf("%s.%s: %d series; want 1", measurement, field, len(ss))
	}
	s := ss[0]
	stored, err := st.db.chunks(t.Context(), []uint64{s.id}, -1<<63, 1<<63-1)
	if err != nil {
		t.Fatal(err)
	}
	var views []chunkView
	for _, c := range stored[s.id] {
		views = append(views, chunkView(c))
	}
	views = append(views, s.snapshot(-1<<63, 1<<63-1, nil)...)
	var out []tv
	seen := map[uint64]bool{}
	for _, c := range views {
		if seen[c.seq] {
			continue
		}
		seen[c.seq] = true
		got, err := decodeChunk(c.data)
		if err != nil {
			t.Fatalf("chunk %d: %v", c.seq, err)
		}
		out = append(out, got...)
	}
	return out
}

// TestValueKinds round-trips every kind, bools and strings included
// (which queries do not answer), through the head, SQLite and the log.
func TestValueKinds(t *testing.T) {
	kinds := []metrics.Value{
		{Kind: metrics.Float, F: -1.5e-7},
		{Kind: metrics.Int, I: -42},
		{Kind: metrics.Uint, U: 1<<64 - 1},
		{Kind: metrics.Bool, B: true},
		{Kind: metrics.String, S: "degraded: \"disk\"\n"},
	}
	var fields []metrics.Field
	for i, v := range kinds {
		fields = append(fields, metrics.Field{Key: fmt.Sprintf("f%d", i), Value: v})
	}
	p := metrics.Point{Measurement: "kinds", Tags: []metrics.Tag{{Key: "node", Value: "a"}}, Fields: fields, Time: t0.UnixNano()}
	dir := t.TempDir()
	check := func(t *testing.T, st *Store) {
		t.Helper()
		for i, v := range kinds {
			want := []tv{{t0.UnixNano(), v}, {t0.Add(time.Second).UnixNano(), v}}
			if d := cmp.Diff(want, values(t, st, "kinds", fmt.Sprintf("f%d", i))); d != "" {
				t.Errorf("kind %d (-want +got):\n%s", v.Kind, d)
			}
		}
	}
	st, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	write(t, st, p)
	if err := st.flushOnce(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	p.Time = t0.Add(time.Second).UnixNano()
	write(t, st, p)
	t.Run("sqlite and head", func(t *testing.T) { check(t, st) })
	st.abandon(t)
	st = openTest(t, dir, Options{})
	t.Run("replayed", func(t *testing.T) { check(t, st) })
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = openTest(t, dir, Options{})
	t.Run("reopened", func(t *testing.T) { check(t, st) })
}

// TestOverwriteAndKinds: a second write of the same time wins, as in
// InfluxDB, wherever the two copies are; a field that changes kind keeps
// every numeric sample.
func TestOverwriteAndKinds(t *testing.T) {
	st := openTest(t, "", Options{})
	write(t, st, fpoint("a", 0, 1), fpoint("a", time.Second, 2))
	if err := st.flushOnce(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	write(t, st, fpoint("a", 0, 10)) // over a sample in SQLite
	write(t, st, fpoint("a", 2*time.Second, 3), fpoint("a", 2*time.Second, 30))
	asInt := fpoint("a", 3*time.Second, 0)
	asInt.Fields[0].Value = metrics.Value{Kind: metrics.Int, I: 4}
	write(t, st, asInt, fpoint("a", 4*time.Second, 5))
	want := samples(0, 10, 1, 2, 2, 30, 3, 4, 4, 5)
	if d := cmp.Diff(want, raw(t, st, "a")); d != "" {
		t.Errorf("head and SQLite (-want +got):\n%s", d)
	}
	if err := st.flushOnce(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, raw(t, st, "a")); d != "" {
		t.Errorf("all in SQLite (-want +got):\n%s", d)
	}
}

const crashEnv = "VIGIL_EMBEDDED_CRASH_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashEnv); dir != "" {
		crashChild(dir)
		return
	}
	os.Exit(m.Run())
}

// crashBatch is batch i of writer g: 20 series, one point each at second i
// holding i.
func crashBatch(g, i int) []metrics.Point {
	pts := make([]metrics.Point, 20)
	for k := range pts {
		pts[k] = fpoint(fmt.Sprintf("w%d-%d", g, k), time.Duration(i)*time.Second, float64(i))
	}
	return pts
}

// crashChild writes from two goroutines until it is killed, printing each
// acknowledged batch. Small chunks, segments and a fast flusher make the
// kill land with points in SQLite, in the head and in several segments.
func crashChild(dir string) {
	st, err := Open(dir, Options{ChunkSamples: 16, SegmentBytes: 2 << 10, FlushInterval: 2 * time.Millisecond})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	for g := range 2 {
		go func() {
			for i := 0; ; i++ {
				if err := st.Write(context.Background(), crashBatch(g, i)); err != nil {
					fmt.Println("error", err)
					os.Exit(1)
				}
				mu.Lock()
				fmt.Println("acked", g, i)
				mu.Unlock()
			}
		}()
	}
	select {}
}

// TestKill9 kills a writing process with SIGKILL and checks that every
// batch it acknowledged is there after reopening, exactly once.
func TestKill9(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := [2]int{-1, -1}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	deadline := time.After(2 * time.Minute)
	killed := false
	for l := range lines {
		var g, i int
		if _, err := fmt.Sscanf(l, "acked %d %d", &g, &i); err != nil {
			t.Fatalf("child: %s", l)
		}
		acked[g] = i
		if !killed && acked[0] >= 300 && acked[1] >= 300 {
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true // read on: lines printed before the kill were acknowledged
		}
		select {
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("the child acknowledged only %v batches in 2 minutes", acked)
		default:
		}
	}
	cmd.Wait()
	if !killed {
		t.Fatalf("the child stopped by itself after %v batches", acked)
	}
	segs, err := listSegments(filepath.Join(dir, walDir))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("killed after %v batches; %d log segments left", acked, len(segs))

	st, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for g, last := range acked {
		for k := range 20 {
			node := fmt.Sprintf("w%d-%d", g, k)
			got := raw(t, st, node)
			// The batch in flight at the kill may or may not be there.
			total += len(got)
			if len(got) != last+1 && len(got) != last+2 {
				t.Errorf("%s: %d samples; want %d (or one more)", node, len(got), last+1)
				continue
			}
			for i, s := range got {
				if want := t0.Add(time.Duration(i) * time.Second); !s.Time.Equal(want) || s.Value != float64(i) {
					t.Errorf("%s: sample %d is %v; want %v at %v", node, i, s, float64(i), want)
					break
				}
			}
		}
	}
	// Nothing replayed was stored twice.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = openTest(t, dir, Options{})
	if n := chunkSamples(t, st); n != total {
		t.Errorf("%d samples in SQLite; want the %d distinct ones", n, total)
	}
}
