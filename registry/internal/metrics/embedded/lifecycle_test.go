package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"

	"github.com/vigilmon/vigil/registry/internal/metrics"
	"github.com/vigilmon/vigil/test/syncbuf"
)

// lastSegment is the path of the newest log segment in dir.
func lastSegment(t *testing.T, dir string) string {
	t.Helper()
	nums, err := listSegments(filepath.Join(dir, walDir))
	if err != nil || len(nums) == 0 {
		t.Fatalf("no log segment in %s: %v", dir, err)
	}
	return segPath(filepath.Join(dir, walDir), nums[len(nums)-1])
}

// TestTornTail: what a crash in the middle of a log write leaves at the end
// of the last segment is logged, cut off and otherwise ignored.
func TestTornTail(t *testing.T) {
	frame := func(payload []byte, crc uint32) []byte {
		b := binary.LittleEndian.AppendUint32(nil, uint32(len(payload)))
		return append(binary.LittleEndian.AppendUint32(b, crc), payload...)
	}
	cases := []struct {
		name   string
		tail   []byte
		reason string
	}{
		{"short header", []byte{0x10, 0, 0}, "short frame header"},
		{"short record", frame(make([]byte, 100), 0)[:50], "short record"},
		{"bad checksum", frame([]byte{recordVersion, 0, 0}, 12345), "checksum mismatch"},
		{"zero length", make([]byte, 64), "bad record length 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			st, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 10 {
				write(t, st, fpoint("a", time.Duration(i)*time.Second, float64(i)))
			}
			st.abandon(t)
			seg := lastSegment(t, dir)
			fi, err := os.Stat(seg)
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(seg, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Write(tc.tail); err != nil {
				t.Fatal(err)
			}
			f.Close()

			var logs syncbuf.Buffer
			st = openTest(t, dir, Options{Logger: hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Warn})})
			want := samples(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9)
			if d := cmp.Diff(want, raw(t, st, "a")); d != "" {
				t.Errorf("after replay (-want +got):\n%s", d)
			}
			if l := logs.String(); !strings.Contains(l, "torn tail") || !strings.Contains(l, tc.reason) {
				t.Errorf("log does not report the torn tail (%s):\n%s", tc.reason, l)
			}
			after, err := os.Stat(seg)
			if err != nil {
				t.Fatal(err)
			}
			if after.Size() != fi.Size() {
				t.Errorf("segment is %d bytes after replay; want the %d before the torn tail", after.Size(), fi.Size())
			}
		})
	}
}

// TestCorruptRecord: a record whose checksum fails in the middle of a
// segment is reported and skipped; the records after it are replayed.
func TestCorruptRecord(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		write(t, st, fpoint("a", time.Duration(i)*time.Second, float64(i)))
	}
	st.abandon(t)
	seg := lastSegment(t, dir)
	b, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	// Flip the last byte of the second record.
	first := frameHeader + int(binary.LittleEndian.Uint32(b))
	second := first + frameHeader + int(binary.LittleEndian.Uint32(b[first:]))
	b[second-1] ^= 0xff
	if err := os.WriteFile(seg, b, 0o644); err != nil {
		t.Fatal(err)
	}
	var logs syncbuf.Buffer
	st = openTest(t, dir, Options{Logger: hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Warn})})
	if d := cmp.Diff(samples(0, 0, 2, 2), raw(t, st, "a")); d != "" {
		t.Errorf("after replay (-want +got):\n%s", d)
	}
	if l := logs.String(); !strings.Contains(l, "corrupt write-ahead log record") {
		t.Errorf("log does not report the corrupt record:\n%s", l)
	}
}

// chunkSamples is the number of samples in SQLite.
func chunkSamples(t *testing.T, st *Store) int {
	t.Helper()
	var n int
	if err := st.db.r.QueryRowContext(t.Context(), `SELECT coalesce(sum(count), 0) FROM chunks`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCheckpoint: segments whose points are all in SQLite are deleted,
// and a segment is never replayed into SQLite twice.
func TestCheckpoint(t *testing.T) { testCheckpoint(t) }

// TestCheckpointInParts is TestCheckpoint with the 50 chunks flushed in
// transactions of 7.
func TestCheckpointInParts(t *testing.T) {
	defer func(n int) { flushChunks = n }(flushChunks)
	flushChunks = 7
	testCheckpoint(t)
}

func testCheckpoint(t *testing.T) {
	dir := t.TempDir()
	opts := Options{ChunkSamples: 4, SegmentBytes: 512, FlushInterval: time.Hour}
	st, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		write(t, st, fpoint("a", time.Duration(i)*time.Second, float64(i)))
	}
	before := st.Stats().WALSegments
	if err := st.flushOnce(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	after := st.Stats()
	if before < 10 || after.WALSegments > 2 {
		t.Errorf("log segments: %d before the flush, %d after; want many, then at most 2", before, after.WALSegments)
	}
	nums, err := listSegments(filepath.Join(dir, walDir))
	if err != nil {
		t.Fatal(err)
	}
	if len(nums) != after.WALSegments {
		t.Errorf("%d segment files; the store counts %d", len(nums), after.WALSegments)
	}
	// 200 samples, 50 full chunks of 4: all in SQLite, none in the head.
	if n := chunkSamples(t, st); n != 200 {
		t.Errorf("%d samples in SQLite; want 200", n)
	}
	st.abandon(t)

	// Replay what is left: nothing is added twice.
	st, err = Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = openTest(t, dir, opts)
	if n := chunkSamples(t, st); n != 200 {
		t.Errorf("%d samples in SQLite after replay and close; want 200", n)
	}
	if nums, _ := listSegments(filepath.Join(dir, walDir)); len(nums) != 1 {
		t.Errorf("%d segments after Close and Open; want only the new active one", len(nums))
	}
	var want []metrics.Sample
	for i := range 200 {
		want = append(want, samples(float64(i), float64(i))...)
	}
	if d := cmp.Diff(want, raw(t, st, "a")); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// clock is a settable time source.
type clock struct{ ns atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// TestRetention: chunks older than the retention period go, and so do
// series left with nothing; newer data stays.
func TestRetention(t *testing.T) {
	var clk clock
	clk.set(t0)
	st := openTest(t, "", Options{Retention: time.Hour, ChunkSamples: 10, Now: clk.Now, RetentionInterval: time.Hour, FlushInterval: time.Hour})
	for i := range 20 { // two chunks each, from t0 to t0+19m
		write(t, st, fpoint("old", time.Duration(i)*time.Minute, float64(i)), fpoint("split", time.Duration(i)*time.Minute, float64(i)))
	}
	clk.advance(2 * time.Hour)
	for i := range 20 { // the second chunk of split is recent
		write(t, st, fpoint("split", 2*time.Hour+time.Duration(i)*time.Minute, float64(i)))
	}
	if err := st.flushOnce(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	if err := st.enforceRetention(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := raw(t, st, "old"); got != nil {
		t.Errorf("old: %v; want nothing", got)
	}
	var want []metrics.Sample
	for i := range 20 {
		want = append(want, samples(float64(2*3600+i*60), float64(i))...)
	}
	if d := cmp.Diff(want, raw(t, st, "split"), cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); d != "" {
		t.Errorf("split (-want +got):\n%s", d)
	}
	if n := st.Stats().Series; n != 1 {
		t.Errorf("%d series known; want 1 (old is gone)", n)
	}
	var rows int
	if err := st.db.r.QueryRowContext(t.Context(), `SELECT count(*) FROM series`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 1 {
		t.Errorf("%d series rows; want 1", rows)
	}
	// A series written again after its removal comes back with a new id.
	write(t, st, fpoint("old", 3*time.Hour, 7))
	if d := cmp.Diff(samples(3*3600, 7), raw(t, st, "old")); d != "" {
		t.Errorf("old rewritten (-want +got):\n%s", d)
	}
}

// TestMaxChunkAge: a chunk that stays open past MaxChunkAge is moved to
// SQLite and its log segment deleted.
func TestMaxChunkAge(t *testing.T) {
	var clk clock
	clk.set(t0)
	st := openTest(t, "", Options{MaxChunkAge: time.Hour, Now: clk.Now, FlushInterval: time.Hour})
	write(t, st, fpoint("a", 0, 1), fpoint("a", time.Second, 2))
	if err := st.flushOnce(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	if n := chunkSamples(t, st); n != 0 {
		t.Fatalf("%d samples in SQLite before MaxChunkAge; want 0", n)
	}
	clk.advance(61 * time.Minute)
	// The first flush cuts the chunk and asks for a new segment; the
	// segment is deleted by a flush after the committer rolled.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := st.flushOnce(t.Context(), false); err != nil {
			t.Fatal(err)
		}
		s := st.Stats()
		if s.HeadBytes == 0 && s.WALSegments == 1 && s.WALBytes == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after MaxChunkAge: %+v; want an empty head and one empty segment", s)
		}
		time.Sleep(time.Millisecond)
	}
	if n := chunkSamples(t, st); n != 2 {
		t.Errorf("%d samples in SQLite; want 2", n)
	}
}

// TestHeadMemoryBound: past twice MaxHeadBytes writers wait for the flusher,
// so the head stays bounded even when nothing else would flush.
func TestHeadMemoryBound(t *testing.T) {
	const bound = 16 << 10
	st := openTest(t, "", Options{MaxHeadBytes: bound, FlushInterval: time.Hour})
	var peak int64
	for i := range 400 {
		pts := make([]metrics.Point, 200)
		for k := range pts {
			pts[k] = fpoint(fmt.Sprintf("n%d", k), time.Duration(i)*time.Second, float64(i))
		}
		write(t, st, pts...)
		peak = max(peak, st.Stats().HeadBytes)
	}
	// One batch (200 new chunks of 64 bytes, or growth) may land on top
	// of the limit. Unbounded, the head would reach about 400 KiB.
	if limit := int64(2*bound + 200*256); peak > limit {
		t.Errorf("head peaked at %d bytes; want at most %d", peak, limit)
	}
	if got := raw(t, st, "n7"); len(got) != 400 {
		t.Errorf("n7: %d samples; want 400", len(got))
	}
}

// TestConcurrency: writers on their own and on shared series, queries and
// a busy flusher at once (run with -race); every point is there after.
func TestConcurrency(t *testing.T) {
	st := openTest(t, "", Options{ChunkSamples: 8, SegmentBytes: 16 << 10, MaxHeadBytes: 64 << 10, FlushInterval: time.Millisecond})
	const writers, batches = 6, 60
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range batches {
				// Own series, and a shared one at times no other writer uses.
				pts := []metrics.Point{
					fpoint(fmt.Sprintf("w%d", w), time.Duration(i)*time.Second, float64(i)),
					fpoint("shared", time.Duration(i*writers+w)*time.Second, float64(w)),
				}
				if err := st.Write(t.Context(), pts); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		}()
	}
	var qwg sync.WaitGroup
	for range 2 {
		qwg.Add(1)
		go func() {
			defer qwg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := st.Query(t.Context(), metrics.Query{Measurement: "m", Field: "v", From: t0, To: t0.Add(time.Hour), Step: time.Minute, Agg: metrics.Mean}); err != nil {
					t.Errorf("query: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	qwg.Wait()
	for w := range writers {
		if got := raw(t, st, fmt.Sprintf("w%d", w)); len(got) != batches {
			t.Errorf("w%d: %d samples; want %d", w, len(got), batches)
		}
	}
	if got := raw(t, st, "shared"); len(got) != writers*batches {
		t.Errorf("shared: %d samples; want %d", len(got), writers*batches)
	}
}

func TestLifecycle(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{}); err == nil {
		t.Error("a second Open of the same directory succeeded")
	}
	bad := fpoint("a", 0, 1)
	bad.Fields[0].Value.Kind = 0
	if err := st.Write(t.Context(), []metrics.Point{bad}); err == nil {
		t.Error("Write of a value without a kind succeeded")
	}
	_, err = st.Query(t.Context(), metrics.Query{Measurement: "m"})
	if !errors.Is(err, metrics.ErrInvalidQuery) {
		t.Errorf("Query without a field: %v; want metrics.ErrInvalidQuery", err)
	}
	write(t, st, fpoint("a", 0, 1))
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := st.Write(t.Context(), []metrics.Point{fpoint("a", 1, 1)}); !errors.Is(err, errClosed) {
		t.Errorf("Write after Close: %v; want errClosed", err)
	}
	if _, err := st.Query(t.Context(), metrics.Query{Measurement: "m", Field: "v", From: t0, To: t0.Add(time.Hour)}); !errors.Is(err, errClosed) {
		t.Errorf("Query after Close: %v; want errClosed", err)
	}
	ents, err := os.ReadDir(filepath.Join(dir, walDir))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 0 {
		t.Errorf("log after Close: %d files; want none", len(ents))
	}
	st = openTest(t, dir, Options{})
	if d := cmp.Diff(samples(0, 1), raw(t, st, "a")); d != "" {
		t.Errorf("after reopening (-want +got):\n%s", d)
	}
}

// TestReplayIDs: replay maps a log's series ids onto the dictionary's
// without ever merging two series: an id the dictionary gave to another
// series gets a new one, a known series keeps its own, an undefined id is
// dropped and counted.
func TestReplayIDs(t *testing.T) {
	st := openTest(t, "", Options{})
	write(t, st, fpoint("a", 0, 1))
	a := st.dict.match(metrics.Query{Measurement: "m", Field: "v", Node: "a"})[0]
	st.wal.mu.Lock()
	seg := st.wal.segs[len(st.wal.segs)-1]
	st.wal.mu.Unlock()
	sink := &replaySink{st: st, seg: seg, alias: map[uint64]*series{}, lsn: lsnOf(seg.num, 1000)}

	sink.define(a.id, "m", []metrics.Tag{{Key: "node", Value: "b"}}, "v") // a's id, another series
	sink.sample(a.id, t0.Add(time.Second).UnixNano(), metrics.Value{Kind: metrics.Float, F: 2})
	sink.define(a.id+100, "m", []metrics.Tag{{Key: "node", Value: "a"}}, "v") // a under another id
	sink.sample(a.id+100, t0.Add(2*time.Second).UnixNano(), metrics.Value{Kind: metrics.Float, F: 3})
	sink.sample(a.id+200, t0.UnixNano(), metrics.Value{Kind: metrics.Float, F: 4})

	if d := cmp.Diff(samples(0, 1, 2, 3), raw(t, st, "a")); d != "" {
		t.Errorf("a (-want +got):\n%s", d)
	}
	if d := cmp.Diff(samples(1, 2), raw(t, st, "b")); d != "" {
		t.Errorf("b (-want +got):\n%s", d)
	}
	if sink.unknown != 1 {
		t.Errorf("%d samples of undefined series; want 1", sink.unknown)
	}
}

// TestHeadCutsLargest: past MaxHeadBytes the largest open chunks are
// moved to SQLite until the open ones take half of it; the others stay open.
func TestHeadCutsLargest(t *testing.T) {
	const bound = 4096
	st := openTest(t, "", Options{MaxHeadBytes: bound, FlushInterval: time.Hour})
	for i := range 60 {
		write(t, st, fpoint("big", time.Duration(i)*time.Second, float64(i)*1.37+0.001*float64(i*i)))
	}
	for k := range 60 {
		write(t, st, fpoint(fmt.Sprintf("small%d", k), 0, 1))
	}
	for deadline := time.Now().Add(10 * time.Second); st.mem.open() <= bound; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the head holds %d bytes, want over %d to test the cut", st.mem.open(), bound)
		}
	}
	if err := st.flushOnce(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	if open := st.mem.open(); open > bound/2 || open == 0 {
		t.Errorf("open chunks take %d bytes after the flush; want 1 to %d", open, bound/2)
	}
	open := 0
	for _, s := range st.dict.all() {
		s.mu.Lock()
		if s.head != nil {
			open++
			if s.set.node == "big" {
				t.Error("the largest chunk was left open")
			}
		}
		s.mu.Unlock()
	}
	if open == 0 || open == 61 {
		t.Errorf("%d of 61 chunks left open; want some, not all", open)
	}
}
