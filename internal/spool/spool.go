package spool

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"

	"github.com/hashicorp/go-hclog"
)

// Options tunes a Spool. Zero values take the defaults.
type Options struct {
	// MaxBytes bounds the bytes on disk; 0 is unbounded. When an Append
	// would exceed it, the oldest records are dropped (even unacked ones)
	// and reported, unless RefuseWhenFull is set.
	MaxBytes int64
	// RefuseWhenFull makes an Append that would exceed MaxBytes fail
	// with ErrFull and drop nothing: for a caller that can tell its own
	// sender to come back later rather than lose what it accepted.
	RefuseWhenFull bool
	// SegmentBytes is the target size of a segment file; default
	// min(8 MiB, MaxBytes/8), so that dropping is fine-grained.
	SegmentBytes int64
	Logger       hclog.Logger // may be nil
}

// Record is one entry of the spool.
type Record struct {
	Seq   uint64 // assigned by Append: 1, 2, ... increasing across restarts
	ID    string // the caller's id (e.g. a batch id), at most 255 bytes
	Count int    // the caller's count (e.g. points in the batch), not negative
	Data  []byte
}

// Dropped is what Append evicted to make room.
type Dropped struct {
	Records int64
	Count   int64 // the sum of Record.Count
}

// Stats describes a spool.
type Stats struct {
	Records, Bytes               int64 // unacked records, and bytes on disk
	DroppedRecords, DroppedCount int64 // since Open
	// Corrupt counts records found torn or corrupt (on Open, or later by
	// Next); they are skipped, never returned.
	Corrupt int64
}

// ErrClosed is returned by a Spool's methods after Close.
var ErrClosed = errors.New("spool is closed")

// ErrFull is returned by Append when the spool is full and
// Options.RefuseWhenFull is set.
var ErrFull = errors.New("spool is full")

const defaultSegmentBytes = 8 << 20

// segment is one segment file. Its records have seqs first .. end()-1.
type segment struct {
	first uint64
	n     uint64
	size  int64
	count int64    // the sum of Count over its records
	w     *os.File // open while it is the active (last) segment, or unsynced
}

func (g *segment) end() uint64 { return g.first + g.n }

// handed is a record that Next handed out and nobody acknowledged yet.
type handed struct {
	seq   uint64
	count int64
}

// Spool is a durable, bounded FIFO of records in a directory. Its methods
// are safe for concurrent use.
type Spool struct {
	dir    string
	opts   Options
	log    hclog.Logger
	lock   *os.File
	nosync bool // tests of recovery logic only: fsync is slow on a busy disk

	readMu sync.Mutex // one Next at a time
	syncMu sync.Mutex // one fsync pass at a time; taken before mu

	mu      sync.Mutex
	closed  bool
	segs    []*segment // oldest first; the last is where Append writes
	next    uint64     // seq of the next Append
	head    uint64     // every record up to head is acknowledged or dropped
	bytes   int64
	pending int64 // the sum of Count over records after head
	wake    chan struct{}

	// The read cursor: cur is the seq Next hands out next, at offset off
	// of curSeg, after records whose Count sums to before. handed are the
	// records between head and cur. gen changes whenever something other
	// than Next moves the cursor.
	cur     uint64
	curSeg  *segment
	off     int64
	before  int64
	gen     uint64
	handed  []handed
	rf      *os.File // curSeg, open for reading
	rfSeg   *segment
	written uint64 // ack point last written to disk

	// Group commit: writes counts Appends; synced is the last write known
	// durable; a failed fsync pass covered writes (failLo, failHi].
	writes, synced, failLo, failHi uint64
	failErr                        error
	dirty                          []*os.File // written since the last fsync pass began
	syncing                        []*os.File // being fsynced by the current pass
	dirDirty                       bool       // segments created or removed since then

	droppedRecords, droppedCount, corrupt int64
}

// Open opens the spool in dir, creating dir (0700) if needed, and recovers
// what a previous run left: unacknowledged records are handed out again;
// torn or corrupt records are skipped, counted and logged. Only one Spool
// may have dir open at a time, in any process.
func Open(dir string, opts Options) (*Spool, error) { return openSpool(dir, opts, false) }

func openSpool(dir string, opts Options, nosync bool) (*Spool, error) {
	if opts.MaxBytes < 0 || opts.SegmentBytes < 0 {
		return nil, errors.New("opening spool: negative size limit")
	}
	if opts.SegmentBytes == 0 {
		opts.SegmentBytes = defaultSegmentBytes
		if opts.MaxBytes > 0 {
			opts.SegmentBytes = max(min(opts.SegmentBytes, opts.MaxBytes/8), 1)
		}
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("opening spool: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s := &Spool{dir: dir, opts: opts, log: opts.Logger, lock: lock, nosync: nosync, wake: make(chan struct{})}
	if err := s.recover(); err != nil {
		s.closeFiles()
		unlockDir(lock)
		return nil, fmt.Errorf("opening spool %s: %w", dir, err)
	}
	return s, nil
}

func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening spool: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("opening spool: %s is in use by another spool", dir)
		}
		return nil, fmt.Errorf("opening spool: locking %s: %w", dir, err)
	}
	return f, nil
}

func unlockDir(f *os.File) {
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	f.Close()
}

func (s *Spool) fsync(f *os.File) error {
	if s.nosync {
		return nil
	}
	return f.Sync()
}

func (s *Spool) syncDir() error {
	if s.nosync {
		return nil
	}
	return syncDir(s.dir)
}

func segName(first uint64) string { return fmt.Sprintf("%020d.seg", first) }

func (s *Spool) segPath(g *segment) string { return filepath.Join(s.dir, segName(g.first)) }

// Append adds r (its Seq is ignored) and returns its seq once it is on
// disk (fsynced), with what was dropped to make room. A record larger than
// MaxBytes, an id over 255 bytes or a negative Count is refused.
func (s *Spool) Append(r Record) (seq uint64, d Dropped, err error) {
	size := frameSize(r.ID, r.Data)
	switch {
	case len(r.ID) > maxID:
		return 0, d, fmt.Errorf("appending to spool: id of %d bytes (at most %d)", len(r.ID), maxID)
	case r.Count < 0:
		return 0, d, fmt.Errorf("appending to spool: negative count %d", r.Count)
	case size > maxFrame || s.opts.MaxBytes > 0 && size > s.opts.MaxBytes:
		return 0, d, fmt.Errorf("appending to spool: a record of %d bytes does not fit (spool limit %d bytes)", size, min(maxFrame, s.opts.MaxBytes))
	}
	dataCRC := crc32.Checksum(r.Data, castagnoli)

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return 0, d, ErrClosed
	}
	for s.opts.MaxBytes > 0 && s.bytes+size > s.opts.MaxBytes {
		if s.opts.RefuseWhenFull {
			s.reclaimLocked() // what is acknowledged no longer counts
			if s.bytes+size <= s.opts.MaxBytes {
				break
			}
			s.mu.Unlock()
			return 0, d, fmt.Errorf("appending %d bytes (limit %d, %d in use): %w", size, s.opts.MaxBytes, s.bytes, ErrFull)
		}
		if err := s.dropOldestLocked(&d); err != nil {
			s.noteDropLocked(d)
			s.mu.Unlock()
			return 0, d, fmt.Errorf("appending to spool: making room: %w", err)
		}
	}
	s.noteDropLocked(d)
	g := s.segs[len(s.segs)-1]
	if g.size > 0 && g.size+size > s.opts.SegmentBytes {
		if err := s.rotateLocked(); err != nil {
			s.mu.Unlock()
			return 0, d, fmt.Errorf("appending to spool: %w", err)
		}
		s.reclaimLocked()
		g = s.segs[len(s.segs)-1]
	}
	r.Seq = s.next
	head := encodeHead(r, dataCRC)
	_, err = g.w.WriteAt(head, g.size)
	if err == nil {
		_, err = g.w.WriteAt(r.Data, g.size+int64(len(head)))
	}
	if err != nil {
		_ = g.w.Truncate(g.size) // best effort: the next write overwrites it anyway
		s.mu.Unlock()
		return 0, d, fmt.Errorf("appending to spool: %w", err)
	}
	g.size += size
	g.n++
	g.count += int64(r.Count)
	s.bytes += size
	s.next++
	s.pending += int64(r.Count)
	s.writes++
	mine := s.writes
	if !slices.Contains(s.dirty, g.w) {
		s.dirty = append(s.dirty, g.w)
	}
	close(s.wake)
	s.wake = make(chan struct{})
	s.mu.Unlock()

	if err := s.syncThrough(mine); err != nil {
		return r.Seq, d, fmt.Errorf("appending to spool: syncing: %w", err)
	}
	return r.Seq, d, nil
}

func (s *Spool) noteDropLocked(d Dropped) {
	s.droppedRecords += d.Records
	s.droppedCount += d.Count
	if d.Records > 0 {
		s.log.Debug("spool full: dropped the oldest records", "records", d.Records, "count", d.Count)
	}
}

// syncThrough returns once write number mine is durable: the first caller
// to get here fsyncs every file written so far, and those who wrote
// meanwhile find their write already covered (group commit).
func (s *Spool) syncThrough(mine uint64) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	switch {
	case mine > s.failLo && mine <= s.failHi:
		err := s.failErr
		s.mu.Unlock()
		return err
	case s.synced >= mine:
		s.mu.Unlock()
		return nil
	case s.closed:
		s.mu.Unlock()
		return nil // Close synced everything
	}
	target, files, dir := s.writes, s.dirty, s.dirDirty
	s.dirty, s.dirDirty, s.syncing = nil, false, files
	s.mu.Unlock()
	var err error
	for _, f := range files {
		if e := s.fsync(f); e != nil && err == nil {
			err = e
		}
	}
	if dir {
		if e := s.syncDir(); e != nil && err == nil {
			err = e
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.failLo, s.failHi, s.failErr = s.synced, target, err
	}
	s.synced = target
	s.syncing = nil
	for _, f := range files {
		if f != s.segs[len(s.segs)-1].w && !slices.Contains(s.dirty, f) {
			f.Close() // a segment rotated away while unsynced
		}
	}
	if mine > s.failLo && mine <= s.failHi {
		return s.failErr
	}
	return nil
}

// rotateLocked starts a new segment for the next Append.
func (s *Spool) rotateLocked() error {
	path := filepath.Join(s.dir, segName(s.next))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("creating segment: %w", err)
	}
	s.dirDirty = true // synced by the fsync pass that makes its first record durable
	old := s.segs[len(s.segs)-1]
	s.closeWriterLocked(old)
	s.segs = append(s.segs, &segment{first: s.next, w: f})
	return nil
}

// closeWriterLocked lets go of g's file for writing: closed now, or by the
// fsync pass that has it to sync.
func (s *Spool) closeWriterLocked(g *segment) {
	if g.w != nil && !slices.Contains(s.dirty, g.w) && !slices.Contains(s.syncing, g.w) {
		g.w.Close()
	}
	g.w = nil
}

// dropOldestLocked drops the oldest segment, counting its records that
// were not acknowledged into d.
func (s *Spool) dropOldestLocked(d *Dropped) error {
	g := s.segs[0]
	if len(s.segs) == 1 {
		if g.size == 0 {
			return errors.New("nothing left to drop")
		}
		if err := s.rotateLocked(); err != nil {
			return err
		}
	}
	if last := g.end() - 1; g.n > 0 && last > s.head {
		d.Records += int64(last - max(s.head, g.first-1))
		var count int64
		for len(s.handed) > 0 && s.handed[0].seq <= last {
			count += s.handed[0].count
			s.handed = s.handed[1:]
		}
		if s.curSeg == g {
			count += g.count - s.before
		}
		d.Count += count
		s.pending -= count
		s.head = last
	}
	return s.removeFirstLocked()
}

// reclaimLocked deletes the leading segments whose records are all done,
// keeping the last (it carries the next seq).
func (s *Spool) reclaimLocked() {
	for len(s.segs) > 1 && s.segs[0].end() <= s.head+1 {
		if err := s.removeFirstLocked(); err != nil {
			s.log.Warn("cannot delete a spool segment", "path", s.segPath(s.segs[0]), "error", err)
			return
		}
	}
}

// removeFirstLocked deletes the oldest segment (not the last one), whose
// records are all done, and moves the cursor off it.
func (s *Spool) removeFirstLocked() error {
	g := s.segs[0]
	if err := os.Remove(s.segPath(g)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	s.closeWriterLocked(g)
	if s.rfSeg == g {
		s.rf.Close()
		s.rf, s.rfSeg = nil, nil
	}
	s.segs = s.segs[1:]
	s.bytes -= g.size
	if s.curSeg == g {
		nx := s.segs[0]
		s.curSeg, s.cur, s.off, s.before = nx, max(s.cur, nx.first), 0, 0
		s.gen++
	}
	s.dirDirty = true
	return nil
}

// Ack marks every record up to seq as done (delivered or given up on).
// Segments whose records are all done are deleted, and the ack point is
// saved (without fsync) so a restart does not hand them out again. Acking
// a dropped or already acknowledged seq is fine.
func (s *Spool) Ack(seq uint64) error {
	_, err := s.AckLive(seq)
	return err
}

// AckLive is Ack that also reports whether record seq itself was still in
// the spool (not acknowledged, not dropped) before the call.
func (s *Spool) AckLive(seq uint64) (bool, error) {
	live, removed, err := s.ack(seq)
	if removed {
		// Outside the lock: a directory fsync can take a while on a busy
		// disk, and a removal lost in a crash only brings back records
		// that the ack point says are done.
		if err := s.syncDir(); err != nil {
			s.log.Warn("cannot sync the spool directory", "path", s.dir, "error", err)
		}
	}
	return live, err
}

func (s *Spool) ack(seq uint64) (live, removed bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false, false, ErrClosed
	}
	seq = min(seq, s.next-1)
	if seq <= s.head {
		return false, false, nil
	}
	live = s.liveLocked(seq)
	for len(s.handed) > 0 && s.handed[0].seq <= seq {
		s.pending -= s.handed[0].count
		s.handed = s.handed[1:]
	}
	if seq >= s.cur {
		s.skipLocked(seq + 1)
	}
	s.head = seq
	segs := len(s.segs)
	s.reclaimLocked()
	removed = len(s.segs) < segs
	if err := writeAck(s.dir, s.head, false); err != nil {
		return live, removed, err
	}
	s.written = s.head
	return live, removed, nil
}

// Live reports whether record seq is in the spool: appended, and neither
// acknowledged nor dropped.
func (s *Spool) Live(seq uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.liveLocked(seq)
}

func (s *Spool) liveLocked(seq uint64) bool {
	if seq <= s.head || seq >= s.next {
		return false
	}
	for _, g := range s.segs {
		if seq >= g.first && seq < g.end() {
			return true
		}
	}
	return false
}

// PendingCount is the sum of Record.Count over the unacknowledged records.
func (s *Spool) PendingCount() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending
}

// Stats returns the spool's counters.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Bytes: s.bytes, DroppedRecords: s.droppedRecords, DroppedCount: s.droppedCount, Corrupt: s.corrupt}
	for _, g := range s.segs {
		if g.end() > s.head+1 {
			st.Records += int64(g.end() - max(s.head+1, g.first))
		}
	}
	return st
}

// Close syncs the spool, saves the ack point and releases the directory.
// It wakes a blocked Next with ErrClosed. A second Close does nothing.
func (s *Spool) Close() error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	close(s.wake)
	var errs []error
	for _, f := range s.dirty {
		if err := s.fsync(f); err != nil {
			errs = append(errs, fmt.Errorf("syncing %s: %w", f.Name(), err))
		}
	}
	s.synced = s.writes
	if s.dirDirty {
		if err := s.syncDir(); err != nil {
			errs = append(errs, fmt.Errorf("syncing %s: %w", s.dir, err))
		}
	}
	if s.head != s.written {
		if err := writeAck(s.dir, s.head, !s.nosync); err != nil {
			errs = append(errs, err)
		}
	}
	s.closeFiles()
	unlockDir(s.lock)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("closing spool %s: %w", s.dir, err)
	}
	return nil
}

// closeFiles closes every file the spool holds open but the lock.
func (s *Spool) closeFiles() {
	for _, f := range s.dirty {
		f.Close()
	}
	s.dirty = nil
	for _, g := range s.segs {
		if g.w != nil {
			g.w.Close()
			g.w = nil
		}
	}
	if s.rf != nil {
		s.rf.Close()
		s.rf, s.rfSeg = nil, nil
	}
}
