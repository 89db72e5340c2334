package spool

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"
)

// frame is rec(i)'s bytes on disk with seq seq.
func frame(i int, seq uint64) []byte {
	r := rec(i)
	r.Seq = seq
	return append(encodeHead(r, crc32.Checksum(r.Data, castagnoli)), r.Data...)
}

// all takes every record Next has now.
func all(t *testing.T, s *Spool) []Record {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out []Record
	for {
		r, err := s.Next(ctx)
		if errors.Is(err, context.Canceled) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
}

func TestRecoverDamagedSegment(t *testing.T) {
	sz := recSize(1) // records 1..9 are all this size
	appendRaw := func(b []byte) func([]byte) []byte {
		return func(seg []byte) []byte { return append(seg, b...) }
	}
	flip := func(off int64) func([]byte) []byte {
		return func(seg []byte) []byte { seg[off] ^= 0x40; return seg }
	}
	tests := []struct {
		name        string
		damage      func(seg []byte) []byte // of a segment holding records 1..5
		wantRecords []int
		wantCorrupt int64
		wantOffset  int64 // where the damage was found and the file cut
	}{
		{"cut mid-record", func(seg []byte) []byte { return seg[:4*sz+10] }, span(1, 4), 1, 4 * sz},
		{"cut mid-prefix", func(seg []byte) []byte { return seg[:4*sz+5] }, span(1, 4), 1, 4 * sz},
		{"flipped data byte", flip(2*sz + sz - 2), span(1, 2), 3, 2 * sz},
		{"flipped length byte", flip(2*sz + 7), span(1, 2), 3, 2 * sz},
		{"flipped id byte", flip(2*sz + prefixLen + headerLen), span(1, 2), 3, 2 * sz},
		{"flipped magic of the first", flip(0), nil, 5, 0},
		{"kill -9 mid-append: a partial record", appendRaw(frame(6, 6)[:sz-3]), span(1, 5), 1, 5 * sz},
		{"kill -9 mid-append: only a prefix", appendRaw(frame(6, 6)[:prefixLen]), span(1, 5), 1, 5 * sz},
		{"zeros after the end", appendRaw(make([]byte, 4096)), span(1, 5), 1, 5 * sz},
		{"a valid record with the wrong seq", appendRaw(frame(7, 7)), span(1, 5), 1, 5 * sz},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir, Options{})
			appendAll(t, s, 1, 5)
			s.Close()
			path := filepath.Join(dir, segName(1))
			seg, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, tc.damage(seg), 0o600); err != nil {
				t.Fatal(err)
			}

			var logs bytes.Buffer
			s = open(t, dir, Options{Logger: hclog.New(&hclog.LoggerOptions{Output: &logs})})
			if diff := cmp.Diff(want(0, tc.wantRecords...), all(t, s)); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
			if got := s.Stats().Corrupt; got != tc.wantCorrupt {
				t.Errorf("Corrupt = %d, want %d", got, tc.wantCorrupt)
			}
			if line := fmt.Sprintf("path=%s offset=%d", path, tc.wantOffset); !strings.Contains(logs.String(), line) {
				t.Errorf("log does not name %q:\n%s", line, logs.String())
			}
			if st, err := os.Stat(path); err != nil || st.Size() != tc.wantOffset {
				t.Errorf("segment not cut at %d: %v, %v", tc.wantOffset, st.Size(), err)
			}

			// Appends continue cleanly after the cut, and a reopen finds
			// no damage.
			n := len(tc.wantRecords)
			if seq, _, err := s.Append(rec(n + 1)); err != nil || seq != uint64(n+1) {
				t.Fatalf("Append after recovery = %d, %v", seq, err)
			}
			s.Close()
			s = open(t, dir, Options{})
			if diff := cmp.Diff(want(0, span(1, n+1)...), all(t, s)); diff != "" {
				t.Errorf("after another restart (-want +got):\n%s", diff)
			}
			if got := s.Stats().Corrupt; got != 0 {
				t.Errorf("Corrupt after another restart = %d", got)
			}
		})
	}
}

func TestRecoverDamageInAMiddleSegment(t *testing.T) {
	sz := recSize(1)
	dir := t.TempDir()
	s := open(t, dir, Options{SegmentBytes: 2 * sz}) // segments 1-2, 3-4, 5-6
	appendAll(t, s, 1, 6)
	s.Close()
	if err := os.Truncate(filepath.Join(dir, segName(3)), sz+sz/2); err != nil { // record 4 torn
		t.Fatal(err)
	}
	s = open(t, dir, Options{SegmentBytes: 2 * sz})
	if diff := cmp.Diff(want(0, 1, 2, 3, 5, 6), all(t, s)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Stats{Records: 5, Bytes: 5 * sz, Corrupt: 1}, s.Stats()); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	if got := s.PendingCount(); got != 1+2+3+5+6 {
		t.Errorf("PendingCount = %d", got)
	}
	if s.Live(4) {
		t.Error("the torn record is live")
	}
	if err := s.Ack(4); err != nil { // into the gap
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{segName(5)}, segFiles(t, dir)); diff != "" {
		t.Errorf("segments after Ack(4) (-want +got):\n%s", diff)
	}
}

func TestRecoverAckPoint(t *testing.T) {
	tests := []struct {
		name string
		ack  []byte // nil: remove the file
		want []int
	}{
		{"acked through 3", encodeAck(3), []int{4, 5}},
		{"no ack file", nil, span(1, 5)},
		{"damaged ack file", []byte("VSPA garbage...."), span(1, 5)},
		{"ack past the end", encodeAck(99), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir, Options{})
			appendAll(t, s, 1, 5)
			if err := s.Ack(1); err != nil {
				t.Fatal(err)
			}
			s.Close()
			path := filepath.Join(dir, ackName)
			if tc.ack == nil {
				os.Remove(path)
			} else if err := os.WriteFile(path, tc.ack, 0o600); err != nil {
				t.Fatal(err)
			}
			s = open(t, dir, Options{})
			if diff := cmp.Diff(want(0, tc.want...), all(t, s)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if seq, _, err := s.Append(rec(6)); err != nil || seq != 6 {
				t.Errorf("Append = %d, %v", seq, err)
			}
		})
	}
}

// TestKill9 kills a process that appends in a loop and checks that every
// record whose Append returned is there after a restart.
func TestKill9(t *testing.T) {
	if dir := os.Getenv("SPOOL_TEST_CHILD_DIR"); dir != "" {
		appendForever(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9$")
	cmd.Env = append(os.Environ(), "SPOOL_TEST_CHILD_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	var acked uint64
	for acked < 200 && sc.Scan() {
		if n, err := strconv.ParseUint(sc.Text(), 10, 64); err == nil {
			acked = n
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if acked < 200 {
		t.Fatalf("the child appended only %d records", acked)
	}
	s := open(t, dir, Options{})
	got := all(t, s)
	if uint64(len(got)) < acked {
		t.Fatalf("%d records after the kill, want at least %d", len(got), acked)
	}
	for i, r := range got {
		w := bigRec(i + 1)
		w.Seq = uint64(i + 1)
		if w.Seq != r.Seq || w.ID != r.ID || w.Count != r.Count || !bytes.Equal(w.Data, r.Data) {
			t.Fatalf("record %d is %d %q %d with %d bytes, want %d %q %d with %d bytes (or different data)",
				i+1, r.Seq, r.ID, r.Count, len(r.Data), w.Seq, w.ID, w.Count, len(w.Data))
		}
	}
	t.Logf("%d records acknowledged by the child, %d recovered, %d corrupt", acked, len(got), s.Stats().Corrupt)
}

// bigRec is record i of TestKill9: 64 KiB, so that a kill may land in a
// write.
func bigRec(i int) Record {
	data := bytes.Repeat([]byte{byte(i)}, 64<<10)
	binary.BigEndian.PutUint64(data, uint64(i))
	return Record{ID: strconv.Itoa(i), Count: i, Data: data}
}

func appendForever(dir string) {
	s, err := Open(dir, Options{SegmentBytes: 1 << 20})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for i := 1; ; i++ {
		seq, _, err := s.Append(bigRec(i))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Println(seq)
	}
}

func FuzzOpen(f *testing.F) {
	var valid []byte
	for i := 1; i <= 3; i++ {
		valid = append(valid, frame(i, uint64(i))...)
	}
	f.Add(valid)
	f.Add(valid[:len(valid)-5])
	f.Add(append(bytes.Clone(valid), frame(9, 4)[:20]...))
	f.Add(append(bytes.Clone(valid[:20]), valid[40:]...))
	f.Add([]byte{})
	f.Add([]byte("VSP1\x00\x00\x00\x11\x00\x00\x00\x00"))
	f.Add(bytes.Repeat([]byte("VSP1"), 40))
	f.Fuzz(func(t *testing.T, seg []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, segName(1)), seg, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := openSpool(dir, Options{}, true)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		got := all(t, s)
		for i, r := range got {
			if r.Seq != uint64(i+1) {
				t.Fatalf("record %d has seq %d", i, r.Seq)
			}
			f := append(encodeHead(r, crc32.Checksum(r.Data, castagnoli)), r.Data...)
			if !bytes.Contains(seg, f) {
				t.Fatalf("record %d is not a frame of the input: %+v", i, r)
			}
		}
		if _, _, err := s.Append(Record{ID: "new", Count: 1, Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		s.Close()
		s, err = openSpool(dir, Options{}, true)
		if err != nil {
			t.Fatal(err)
		}
		again := all(t, s)
		if len(again) != len(got)+1 || again[len(got)].ID != "new" {
			t.Fatalf("after Append and reopen: %d records (want %d), last %+v", len(again), len(got)+1, again[len(again)-1])
		}
		if c := s.Stats().Corrupt; c != 0 {
			t.Fatalf("Corrupt = %d after the damage was cut", c)
		}
	})
}
