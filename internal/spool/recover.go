package spool

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// recover scans the segments in the directory and sets up the cursor.
func (s *Spool) recover() error {
	head, err := readAck(s.dir)
	if err != nil {
		s.log.Warn("spool ack point unreadable: unacknowledged and some acknowledged records will be handed out again", "path", filepath.Join(s.dir, ackName), "error", err)
	}
	_ = os.Remove(filepath.Join(s.dir, ackTemp))
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	var firsts []uint64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".seg")
		if !ok || len(name) != 20 || !e.Type().IsRegular() {
			continue
		}
		first, err := strconv.ParseUint(name, 10, 64)
		if err != nil || first == 0 {
			continue
		}
		firsts = append(firsts, first)
	}
	slices.Sort(firsts)
	changed := false
	for i, first := range firsts {
		last := i == len(firsts)-1
		limit := uint64(math.MaxUint64)
		if !last {
			limit = firsts[i+1]
		}
		path := filepath.Join(s.dir, segName(first))
		if !last && limit-1 <= head { // every record in it is done
			if err := os.Remove(path); err != nil {
				return err
			}
			changed = true
			continue
		}
		g, keep, err := s.recoverSegment(path, first, limit, head, last)
		if err != nil {
			return err
		}
		if !keep {
			changed = true
			continue
		}
		s.segs = append(s.segs, g)
	}
	if len(s.segs) == 0 {
		first := max(head+1, 1)
		f, err := os.OpenFile(filepath.Join(s.dir, segName(first)), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		s.segs = append(s.segs, &segment{first: first, w: f})
		changed = true
	}
	if changed {
		if err := s.syncDir(); err != nil {
			return err
		}
	}
	active := s.segs[len(s.segs)-1]
	s.next = active.end()
	s.head = min(head, s.next-1)
	s.written = head
	for _, g := range s.segs {
		s.bytes += g.size
	}
	// The cursor: the first record after head, found by the scan or
	// the first of a later segment; else the end.
	if s.curSeg == nil {
		s.curSeg, s.cur, s.off, s.before = active, active.end(), active.size, active.count
		for _, g := range s.segs {
			if g.n > 0 && g.first > s.head {
				s.curSeg, s.cur, s.off, s.before = g, g.first, 0, 0
				break
			}
		}
	}
	return nil
}

// recoverSegment scans one segment file, truncating a damaged tail. It
// returns keep=false when the file was removed (empty and not the last).
func (s *Spool) recoverSegment(path string, first, limit, head uint64, last bool) (*segment, bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, false, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, false, err
	}
	sc, err := scanSegment(f, st.Size(), first, limit, head)
	if err != nil {
		f.Close()
		return nil, false, fmt.Errorf("scanning %s: %w", path, err)
	}
	if sc.bad != nil {
		s.log.Warn("spool segment damaged: skipping the rest of it", "path", path, "offset", sc.end, "error", sc.bad, "records", sc.corrupt)
		s.corrupt += sc.corrupt
		if err := f.Truncate(sc.end); err == nil {
			err = s.fsync(f)
		}
		if err != nil {
			f.Close()
			return nil, false, fmt.Errorf("truncating %s: %w", path, err)
		}
	}
	if sc.n == 0 && !last {
		f.Close()
		return nil, false, os.Remove(path)
	}
	g := &segment{first: first, n: sc.n, size: sc.end, count: sc.count}
	if last {
		g.w = f
	} else {
		f.Close()
	}
	s.pending += sc.pendingCount
	if sc.curFound {
		s.curSeg, s.cur, s.off, s.before = g, head+1, sc.curOff, sc.curBefore
	}
	return g, true, nil
}

// scanned is what scanning one segment found.
type scanned struct {
	n     uint64 // valid records, seqs first .. first+n-1
	end   int64  // offset just past the last valid record
	count int64  // sum of Count over the valid records
	// The first record after head (the read cursor), when in this
	// segment: its offset and the sum of Count before it.
	curOff    int64
	curBefore int64
	curFound  bool
	// Unacknowledged records (seq > head) and the sum of their Count.
	pending, pendingCount int64
	// bad is why the record at end is not valid (nil: the segment
	// ended cleanly); corrupt counts it and every valid-looking record
	// after it.
	bad     error
	corrupt int64
}

// scanSegment reads the records of a segment whose first record should be
// first, whose seqs must stay below limit, and of which every record up to
// head is acknowledged. Records must be valid frames with seqs first,
// first+1, ...; the first that is not ends the segment.
func scanSegment(r io.ReaderAt, size int64, first, limit, head uint64) (scanned, error) {
	var s scanned
	br := bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 256<<10)
	var pre [prefixLen]byte
	var body []byte
	for s.end < size {
		seq := first + s.n
		if _, err := io.ReadFull(br, pre[:]); err != nil {
			s.bad = errors.New("short record prefix")
			break
		}
		p, err := parsePrefix(pre[:])
		if err != nil {
			s.bad = err
			break
		}
		if s.end+prefixLen+int64(p.length) > size {
			s.bad = fmt.Errorf("record of %d bytes past the end of the file", p.length)
			break
		}
		if cap(body) < int(p.length) {
			body = make([]byte, p.length)
		}
		body = body[:p.length]
		if _, err := io.ReadFull(br, body); err != nil {
			return s, fmt.Errorf("reading at offset %d: %w", s.end, err)
		}
		rec, err := decodeBody(p, body)
		switch {
		case err != nil:
		case rec.Seq != seq || seq >= limit:
			err = fmt.Errorf("sequence number %d where %d was expected", rec.Seq, seq)
		case rec.Count < 0:
			err = fmt.Errorf("negative count %d", rec.Count)
		}
		if err != nil {
			s.bad = err
			break
		}
		if seq == head+1 {
			s.curOff, s.curBefore, s.curFound = s.end, s.count, true
		}
		if seq > head {
			s.pending++
			s.pendingCount += int64(rec.Count)
		}
		s.n++
		s.count += int64(rec.Count)
		s.end += prefixLen + int64(p.length)
	}
	if s.bad != nil {
		s.corrupt = 1 + countFrames(r, s.end+1, size)
	}
	return s, nil
}

// maxResync bounds how much of a damaged tail is read to count the
// records lost with it.
const maxResync = 64 << 20

// countFrames counts the valid frames found by searching [from, size) for
// the magic, so that Stats.Corrupt says how many records a damaged
// segment lost.
func countFrames(r io.ReaderAt, from, size int64) int64 {
	if from >= size {
		return 0
	}
	tail := make([]byte, min(size-from, maxResync))
	n, _ := r.ReadAt(tail, from)
	tail = tail[:n]
	var found int64
	for i := 0; ; {
		j := bytes.Index(tail[i:], []byte(frameMagic))
		if j < 0 {
			return found
		}
		i += j
		if n, ok := validFrameAt(tail[i:]); ok {
			found++
			i += n
			continue
		}
		i++
	}
}

// validFrameAt reports whether b starts with a whole frame whose crc
// holds, and its size.
func validFrameAt(b []byte) (int, bool) {
	if len(b) < prefixLen {
		return 0, false
	}
	p, err := parsePrefix(b)
	if err != nil || int64(len(b)) < prefixLen+int64(p.length) {
		return 0, false
	}
	if _, err := decodeBody(p, b[prefixLen:prefixLen+int(p.length)]); err != nil {
		return 0, false
	}
	return prefixLen + int(p.length), true
}
