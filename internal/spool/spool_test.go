package spool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"
)

// rec is record i: id "b<i>", count i, and data that names it.
func rec(i int) Record {
	return Record{ID: fmt.Sprintf("b%d", i), Count: i, Data: []byte(fmt.Sprintf("m,i=%d v=%d %d\n", i, i, i))}
}

// recSize is the bytes rec(i) takes on disk.
func recSize(i int) int64 { r := rec(i); return frameSize(r.ID, r.Data) }

func open(t *testing.T, dir string, opts Options) *Spool {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func appendAll(t *testing.T, s *Spool, from, to int) {
	t.Helper()
	for i := from; i <= to; i++ {
		if _, _, err := s.Append(rec(i)); err != nil {
			t.Fatal(err)
		}
	}
}

// nextN takes n records, failing if any is not there at once.
func nextN(t *testing.T, s *Spool, n int) []Record {
	t.Helper()
	var out []Record
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		r, err := s.Next(ctx)
		cancel()
		if err != nil {
			t.Fatalf("Next after %d records: %v", len(out), err)
		}
		out = append(out, r)
	}
	return out
}

// drained fails unless Next has nothing more to hand out.
func drained(t *testing.T, s *Spool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if r, err := s.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next on a drained spool = %+v, %v", r, err)
	}
}

// want is the records rec(i) for i in seqs, with Seq = i + offset.
func want(offset int, is ...int) []Record {
	var out []Record
	for _, i := range is {
		r := rec(i)
		r.Seq = uint64(i + offset)
		out = append(out, r)
	}
	return out
}

func span(from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func TestAppendNextAck(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	for i := 1; i <= 5; i++ {
		seq, d, err := s.Append(rec(i))
		if err != nil {
			t.Fatal(err)
		}
		if seq != uint64(i) || d != (Dropped{}) {
			t.Fatalf("Append %d = seq %d, dropped %+v", i, seq, d)
		}
	}
	if diff := cmp.Diff(want(0, 1, 2, 3), nextN(t, s, 3)); diff != "" {
		t.Errorf("first three (-want +got):\n%s", diff)
	}
	if got := s.PendingCount(); got != 1+2+3+4+5 {
		t.Errorf("PendingCount = %d", got)
	}
	if err := s.Ack(2); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want(0, 4, 5), nextN(t, s, 2)); diff != "" {
		t.Errorf("the rest (-want +got):\n%s", diff)
	}
	drained(t, s)
	var size int64
	for i := 1; i <= 5; i++ {
		size += recSize(i)
	}
	if diff := cmp.Diff(Stats{Records: 3, Bytes: size}, s.Stats()); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	if got := s.PendingCount(); got != 3+4+5 {
		t.Errorf("PendingCount after Ack(2) = %d", got)
	}
	for seq, live := range map[uint64]bool{0: false, 2: false, 3: true, 5: true, 6: false} {
		if got := s.Live(seq); got != live {
			t.Errorf("Live(%d) = %v", seq, got)
		}
	}
	if live, err := s.AckLive(4); err != nil || !live {
		t.Errorf("AckLive(4) = %v, %v", live, err)
	}
	if live, err := s.AckLive(4); err != nil || live {
		t.Errorf("second AckLive(4) = %v, %v", live, err)
	}
	if err := s.Ack(99); err != nil { // past the end: everything
		t.Fatal(err)
	}
	if st := s.Stats(); st.Records != 0 || s.PendingCount() != 0 {
		t.Errorf("after acking all: %+v, pending %d", st, s.PendingCount())
	}
}

func TestNextWaitsForAppend(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	got := make(chan Record, 1)
	go func() {
		r, err := s.Next(context.Background())
		if err != nil {
			t.Error(err)
		}
		got <- r
	}()
	appendAll(t, s, 1, 1)
	if diff := cmp.Diff(want(0, 1), []Record{<-got}); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := s.Next(ctx); errc <- err }()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Next after cancel: %v", err)
	}

	go func() { _, err := s.Next(context.Background()); errc <- err }()
	time.Sleep(10 * time.Millisecond) // let it block (the test passes either way)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("Next woken by Close: %v", err)
	}
	if _, _, err := s.Append(rec(2)); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close: %v", err)
	}
	if err := s.Ack(1); !errors.Is(err, ErrClosed) {
		t.Errorf("Ack after Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestRestart(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentBytes: 3 * recSize(1)} // about three records a segment
	s := open(t, dir, opts)
	appendAll(t, s, 1, 10)
	nextN(t, s, 6)
	if err := s.Ack(4); err != nil { // 5 and 6 were handed out, not acked
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, dir, opts)
	if diff := cmp.Diff(want(0, span(5, 10)...), nextN(t, s, 6)); diff != "" {
		t.Errorf("after restart (-want +got):\n%s", diff)
	}
	drained(t, s)
	if got := s.PendingCount(); got != 5+6+7+8+9+10 {
		t.Errorf("PendingCount = %d", got)
	}
	if seq, _, err := s.Append(rec(11)); err != nil || seq != 11 {
		t.Errorf("Append after restart = %d, %v", seq, err)
	}
	if err := s.Ack(11); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Everything acked: nothing comes back, seqs keep increasing, and
	// only the last segment is left.
	s = open(t, dir, opts)
	drained(t, s)
	if seq, _, err := s.Append(rec(12)); err != nil || seq != 12 {
		t.Errorf("Append after the second restart = %d, %v", seq, err)
	}
	if diff := cmp.Diff(want(0, 12), nextN(t, s, 1)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := segFiles(t, dir); len(got) != 1 {
		t.Errorf("segments left: %v", got)
	}
}

// TestRestartWithoutClose: a crash loses no appended record, and hands
// out again at most what was not acked.
func TestRestartWithoutClose(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	appendAll(t, s, 1, 4)
	nextN(t, s, 2)
	if err := s.Ack(1); err != nil {
		t.Fatal(err)
	}
	s.closeFiles() // like a crash: no final ack write, no Close
	unlockDir(s.lock)

	s = open(t, dir, Options{})
	if diff := cmp.Diff(want(0, 2, 3, 4), nextN(t, s, 3)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestAckDeletesSegments(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{SegmentBytes: 1}) // one record a segment
	appendAll(t, s, 1, 5)
	if got := len(segFiles(t, dir)); got != 5 {
		t.Fatalf("%d segments, want 5", got)
	}
	if err := s.Ack(3); err != nil { // acked before being handed out
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{segName(4), segName(5)}, segFiles(t, dir)); diff != "" {
		t.Errorf("segments (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want(0, 4, 5), nextN(t, s, 2)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if err := s.Ack(5); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{segName(5)}, segFiles(t, dir)); diff != "" {
		t.Errorf("the last segment is kept (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Stats{Bytes: recSize(5)}, s.Stats()); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	slices.Sort(m)
	return m
}

func TestDropOldest(t *testing.T) {
	// Records 1..9 are all the same size on disk (one-digit ids).
	size := recSize(1)
	tests := []struct {
		name      string
		handOut   int    // Next this many before appending more
		ack       uint64 // then Ack this
		wantDrop  Dropped
		wantNext  []int
		wantStats Stats
	}{
		{
			name:     "nothing handed out",
			wantDrop: Dropped{Records: 4, Count: 1 + 2 + 3 + 4},
			wantNext: []int{5, 6, 7, 8, 9},
		},
		{
			name:     "some acked, some handed out",
			handOut:  3,
			ack:      1,
			wantDrop: Dropped{Records: 3, Count: 2 + 3 + 4},
			wantNext: []int{5, 6, 7, 8, 9},
		},
		{
			name:     "all of the dropped acked",
			handOut:  4,
			ack:      4,
			wantNext: []int{5, 6, 7, 8, 9},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Room for six records, two a segment: appending 7..9 drops
			// the two oldest segments (1-2, 3-4).
			s := open(t, t.TempDir(), Options{MaxBytes: 6 * size, SegmentBytes: 2 * size})
			appendAll(t, s, 1, 6)
			nextN(t, s, tc.handOut)
			if tc.ack > 0 {
				if err := s.Ack(tc.ack); err != nil {
					t.Fatal(err)
				}
			}
			var total Dropped
			for i := 7; i <= 9; i++ {
				_, d, err := s.Append(rec(i))
				if err != nil {
					t.Fatal(err)
				}
				total.Records += d.Records
				total.Count += d.Count
			}
			if diff := cmp.Diff(tc.wantDrop, total); diff != "" {
				t.Errorf("dropped (-want +got):\n%s", diff)
			}
			got := nextN(t, s, len(tc.wantNext))
			if diff := cmp.Diff(want(0, tc.wantNext...), got); diff != "" {
				t.Errorf("handed out (-want +got):\n%s", diff)
			}
			drained(t, s)
			wantStats := Stats{Records: 5, Bytes: 5 * size, DroppedRecords: tc.wantDrop.Records, DroppedCount: tc.wantDrop.Count}
			if diff := cmp.Diff(wantStats, s.Stats()); diff != "" {
				t.Errorf("stats (-want +got):\n%s", diff)
			}
			if got := s.PendingCount(); got != 5+6+7+8+9 {
				t.Errorf("PendingCount = %d", got)
			}
			for _, seq := range []uint64{2, 4} {
				if s.Live(seq) {
					t.Errorf("Live(%d) after it was dropped", seq)
				}
				if err := s.Ack(seq); err != nil {
					t.Errorf("Ack(%d) of a dropped record: %v", seq, err)
				}
			}
		})
	}
}

func TestDropEverything(t *testing.T) {
	// A spool with room for one record: each Append drops the last.
	s := open(t, t.TempDir(), Options{MaxBytes: recSize(1)})
	appendAll(t, s, 1, 1)
	if diff := cmp.Diff(want(0, 1), nextN(t, s, 1)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	_, d, err := s.Append(rec(2))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Dropped{Records: 1, Count: 1}, d); diff != "" {
		t.Errorf("dropped (-want +got):\n%s", diff)
	}
	if live, err := s.AckLive(1); err != nil || live {
		t.Errorf("AckLive of the dropped record = %v, %v", live, err)
	}
	if diff := cmp.Diff(want(0, 2), nextN(t, s, 1)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, _, err := s.Append(Record{Data: make([]byte, 100)}); err == nil || !strings.Contains(err.Error(), "does not fit") {
		t.Errorf("oversized record: %v", err)
	}
}

func TestAppendRefuses(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	for name, r := range map[string]Record{
		"long id":        {ID: strings.Repeat("x", 256)},
		"negative count": {Count: -1},
	} {
		if _, _, err := s.Append(r); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, _, err := s.Append(Record{ID: strings.Repeat("x", 255)}); err != nil {
		t.Errorf("255-byte id: %v", err)
	}
}

func TestOpenTwice(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second Open: %v", err)
	}
	s.Close()
	s2 := open(t, dir, Options{})
	s2.Close()
}

func TestConcurrentAppend(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{SegmentBytes: 2 * recSize(100)}) // a rotation every other record
	const writers, each = 8, 50
	var wg sync.WaitGroup
	seqs := make([][]uint64, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				seq, _, err := s.Append(rec(w*each + i + 1))
				if err != nil {
					t.Error(err)
					return
				}
				seqs[w] = append(seqs[w], seq)
			}
		})
	}
	// A concurrent reader acking as it goes.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan []Record)
	go func() {
		var out []Record
		for len(out) < writers*each {
			r, err := s.Next(ctx)
			if err != nil {
				t.Error(err)
				break
			}
			out = append(out, r)
			if err := s.Ack(r.Seq); err != nil {
				t.Error(err)
			}
		}
		got <- out
	}()
	wg.Wait()
	if t.Failed() {
		cancel() // some Appends failed: the reader would wait forever
	}
	recs := <-got
	var all []uint64
	for w := range writers {
		if !slices.IsSorted(seqs[w]) {
			t.Errorf("writer %d got decreasing seqs", w)
		}
		all = append(all, seqs[w]...)
	}
	slices.Sort(all)
	var wantSeqs []uint64
	for i := range writers * each {
		wantSeqs = append(wantSeqs, uint64(i+1))
	}
	if diff := cmp.Diff(wantSeqs, all); diff != "" {
		t.Errorf("seqs (-want +got):\n%s", diff)
	}
	for i, r := range recs {
		var n int
		fmt.Sscanf(r.ID, "b%d", &n)
		w := rec(n)
		w.Seq = uint64(i + 1)
		if diff := cmp.Diff(w, r); diff != "" {
			t.Fatalf("record %d (-want +got):\n%s", i, diff)
		}
	}
	if st := s.Stats(); st.Records != 0 || len(segFiles(t, dir)) != 1 {
		t.Errorf("after acking everything: %+v, %d segments", st, len(segFiles(t, dir)))
	}
}

// TestDamageFoundByNext: damage found by Next in the segment being
// appended to does not swallow later appends.
func TestDamageFoundByNext(t *testing.T) {
	dir := t.TempDir()
	var logs strings.Builder
	s := open(t, dir, Options{Logger: hclog.New(&hclog.LoggerOptions{Output: &logs})})
	appendAll(t, s, 1, 3)
	path := filepath.Join(dir, segName(1))
	flipByte(t, path, recSize(1)+prefixLen+headerLen+4) // in record 2's data
	got := nextN(t, s, 1)
	drained(t, s) // finds record 2 damaged: 2 and 3 are lost
	appendAll(t, s, 4, 5)
	got = append(got, nextN(t, s, 2)...)
	if diff := cmp.Diff(want(0, 1, 4, 5), got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if st := s.Stats(); st.Corrupt != 2 {
		t.Errorf("Corrupt = %d, want 2", st.Corrupt)
	}
	if got := s.PendingCount(); got != 1+4+5 {
		t.Errorf("PendingCount = %d", got)
	}
	if !strings.Contains(logs.String(), "damaged since it was opened") || !strings.Contains(logs.String(), path) {
		t.Errorf("log:\n%s", logs.String())
	}
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 0x40
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRefuseWhenFull: a full spool that must not drop refuses the append,
// keeps every record, and takes appends again once acknowledged records
// free a segment.
func TestRefuseWhenFull(t *testing.T) {
	size := recSize(1)
	// Room for six records, two a segment.
	s := open(t, t.TempDir(), Options{MaxBytes: 6 * size, SegmentBytes: 2 * size, RefuseWhenFull: true})
	appendAll(t, s, 1, 6)
	before := s.Stats()
	_, d, err := s.Append(rec(7))
	if !errors.Is(err, ErrFull) || d != (Dropped{}) {
		t.Fatalf("Append to a full spool = %+v, %v; want nothing dropped and ErrFull", d, err)
	}
	if diff := cmp.Diff(before, s.Stats()); diff != "" {
		t.Errorf("a refused append changed the stats (-before +after):\n%s", diff)
	}
	got := nextN(t, s, 2)
	if diff := cmp.Diff(want(0, 1, 2), got); diff != "" {
		t.Fatalf("records (-want +got):\n%s", diff)
	}
	if _, _, err := s.Append(rec(7)); !errors.Is(err, ErrFull) {
		t.Fatalf("Append with records handed out but not acknowledged = %v, want ErrFull", err)
	}
	if err := s.Ack(2); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Append(rec(7)); err != nil {
		t.Fatalf("Append once a segment is acknowledged: %v", err)
	}
	if diff := cmp.Diff(want(0, 3, 4, 5, 6, 7), nextN(t, s, 5)); diff != "" {
		t.Errorf("records after the refusal (-want +got):\n%s", diff)
	}
	drained(t, s)
}
