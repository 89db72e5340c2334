package spool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
)

// Next returns the oldest record not yet handed out since Open, blocking
// until one is appended. If a record is available, Next returns it even
// when ctx is already done; ctx only ends the wait, with ctx.Err(). It
// returns ErrClosed after Close. The record's Data is the caller's to
// keep.
func (s *Spool) Next(ctx context.Context) (Record, error) {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return Record{}, ErrClosed
		}
		g := s.positionLocked()
		if g == nil {
			wake := s.wake
			s.mu.Unlock()
			select {
			case <-wake:
				continue
			case <-ctx.Done():
				return Record{}, ctx.Err()
			}
		}
		rf, err := s.readerLocked(g)
		if err != nil {
			s.mu.Unlock()
			return Record{}, fmt.Errorf("reading spool: %w", err)
		}
		off, seq, gen, limit := s.off, s.cur, s.gen, g.size
		s.mu.Unlock()

		rec, n, rerr := readRecord(rf, off, limit, seq)

		s.mu.Lock()
		switch {
		case s.closed:
			s.mu.Unlock()
			return Record{}, ErrClosed
		case gen != s.gen:
			s.mu.Unlock() // acknowledged or dropped meanwhile
			continue
		case rerr != nil:
			s.log.Error("spool segment damaged since it was opened: skipping the rest of it", "path", s.segPath(g), "offset", off, "error", rerr)
			s.cutLocked(g)
			s.mu.Unlock()
			continue
		}
		s.cur++
		s.off += n
		s.before += int64(rec.Count)
		s.handed = append(s.handed, handed{seq: rec.Seq, count: int64(rec.Count)})
		s.mu.Unlock()
		return rec, nil
	}
}

// positionLocked moves the cursor past the end of its segment when a
// later one exists and returns the segment holding s.cur, or nil when
// every record has been handed out.
func (s *Spool) positionLocked() *segment {
	for {
		g := s.curSeg
		if s.cur < g.end() {
			return g
		}
		i := slices.Index(s.segs, g)
		if i == len(s.segs)-1 {
			return nil
		}
		nx := s.segs[i+1]
		s.curSeg, s.cur, s.off, s.before = nx, nx.first, 0, 0
	}
}

func (s *Spool) readerLocked(g *segment) (*os.File, error) {
	if s.rfSeg == g {
		return s.rf, nil
	}
	if s.rf != nil {
		s.rf.Close()
		s.rf, s.rfSeg = nil, nil
	}
	f, err := os.Open(s.segPath(g))
	if err != nil {
		return nil, err
	}
	s.rf, s.rfSeg = f, g
	return f, nil
}

// readRecord reads and checks the record seq at off, below limit; it
// returns the record and its size on disk.
func readRecord(f *os.File, off, limit int64, seq uint64) (Record, int64, error) {
	var pre [prefixLen]byte
	if limit-off < prefixLen {
		return Record{}, 0, errors.New("short record prefix")
	}
	if _, err := f.ReadAt(pre[:], off); err != nil {
		return Record{}, 0, err
	}
	p, err := parsePrefix(pre[:])
	if err != nil {
		return Record{}, 0, err
	}
	if off+prefixLen+int64(p.length) > limit {
		return Record{}, 0, fmt.Errorf("record of %d bytes past the end of the segment", p.length)
	}
	body := make([]byte, p.length)
	if _, err := f.ReadAt(body, off+prefixLen); err != nil {
		return Record{}, 0, err
	}
	rec, err := decodeBody(p, body)
	if err != nil {
		return Record{}, 0, err
	}
	if rec.Seq != seq || rec.Count < 0 {
		return Record{}, 0, fmt.Errorf("record %d (count %d) where %d was expected", rec.Seq, rec.Count, seq)
	}
	return rec, prefixLen + int64(p.length), nil
}

// cutLocked gives up on the records of g from the cursor on (damaged
// after Open): they are counted as corrupt and never handed out.
func (s *Spool) cutLocked(g *segment) {
	s.corrupt += int64(g.end() - s.cur)
	s.pending -= g.count - s.before
	g.n = s.cur - g.first
	g.count = s.before
	s.gen++
	if g == s.segs[len(s.segs)-1] {
		// Appends must not land after the damage, where Next cannot
		// reach them.
		if err := s.rotateLocked(); err != nil {
			s.log.Error("cannot start a new spool segment", "error", err)
		}
	}
}

// skipLocked moves the cursor to seq to, reading only record headers, for
// records acknowledged before Next handed them out.
func (s *Spool) skipLocked(to uint64) {
	defer func() { s.gen++ }()
	for s.cur < to {
		g := s.positionLocked()
		if g == nil {
			return
		}
		rf, err := s.readerLocked(g)
		if err != nil {
			s.log.Error("cannot read a spool segment", "path", s.segPath(g), "error", err)
			s.cutLocked(g)
			continue
		}
		var buf [prefixLen + headerLen]byte
		var p prefix
		if s.off+int64(len(buf)) > g.size {
			err = errors.New("short record")
		} else if _, err = rf.ReadAt(buf[:], s.off); err == nil {
			p, err = parsePrefix(buf[:])
		}
		if err == nil && s.off+prefixLen+int64(p.length) > g.size {
			err = errors.New("record past the end of the segment")
		}
		if err != nil {
			s.log.Error("spool segment damaged since it was opened: skipping the rest of it", "path", s.segPath(g), "offset", s.off, "error", err)
			s.cutLocked(g)
			continue
		}
		_, count := headerCount(buf[prefixLen:])
		s.pending -= count
		s.before += count
		s.off += prefixLen + int64(p.length)
		s.cur++
	}
}
