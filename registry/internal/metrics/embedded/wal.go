package embedded

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// The write-ahead log is a directory of numbered segment files. Each holds
// records framed as
//
//	length uint32 LE | CRC-32C of the payload uint32 LE | payload
//
// A record is one Write (see record.go); its log sequence number (LSN) is
// its segment number << 32 | its index in the segment. Records are applied
// to the head in LSN order by one goroutine, so a series' samples sit in its
// chunks in LSN order, and SQLite can remember per series the LSN of the
// last sample it holds: replay after a crash skips those, and nothing is
// stored twice. A segment whose records are all applied and whose samples
// are all in SQLite (no head chunk starts in it) is deleted at the next
// flush; SQLite's meta table remembers the highest deleted segment so a
// crash between the flush and the unlink does not replay it.

const (
	frameHeader = 8
	maxRecord   = 1 << 30
	segSuffix   = ".wal"
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// segment is one WAL file. records, applied and chunks are guarded by
// wal.mu.
type segment struct {
	num     uint64
	path    string
	size    int64
	created int64 // Unix ns on the store's clock
	records int   // records written here
	applied int   // records applied to the head
	chunks  int   // head chunks whose first sample came from here
}

// maxSegRecords keeps a record's index within the LSN's 32 bits.
const maxSegRecords = 1 << 31

func lsnOf(seg uint64, index int) uint64 { return seg<<32 | uint64(index) }

// commitReq is one writer's record waiting for the group commit and then
// for the applier.
type commitReq struct {
	rec   []byte
	batch *writeBuf // what the applier adds to the head
	seg   *segment
	lsn   uint64
	err   error
	done  chan struct{}
}

// wal appends records with one fsync per group of concurrent writers.
type wal struct {
	dir      string
	segBytes int64
	now      func() int64
	log      hclog.Logger

	apply func(*commitReq) // adds a committed record to the head

	mu      sync.Mutex
	queue   []*commitReq
	segs    []*segment // live segments, ascending; the last is the active one
	f       *os.File   // the active segment
	roll    bool       // the flusher asked for the active segment to be closed
	err     error      // sticky: after a failed write nothing more is acknowledged
	stopped bool

	wake   chan struct{}
	stop   chan struct{}
	applyq chan []*commitReq // committed groups, in LSN order
	done   chan struct{}     // the applier has finished
	buf    []byte
}

func segPath(dir string, num uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%020d%s", num, segSuffix))
}

// listSegments returns the segment numbers in dir, ascending.
func listSegments(dir string) ([]uint64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("listing write-ahead log: %w", err)
	}
	var nums []uint64
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), segSuffix)
		if !ok || e.IsDir() {
			continue
		}
		n, err := strconv.ParseUint(name, 10, 64)
		if err != nil {
			continue
		}
		nums = append(nums, n)
	}
	slices.Sort(nums)
	return nums, nil
}

// replaySegment calls apply with each record's payload and index in order.
// A torn tail (short frame, bad length, bad CRC of the last record: what a
// crash mid-write leaves) is logged and truncated away; a record with a bad
// CRC followed by more, or one that does not decode, is logged and skipped.
// It returns the valid size and the number of records.
func replaySegment(path string, log hclog.Logger, apply func(payload []byte, index int) error) (size int64, records int, err error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, 0, fmt.Errorf("opening write-ahead log segment: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, fmt.Errorf("reading write-ahead log segment: %w", err)
	}
	r := bufio.NewReaderSize(f, 1<<20)
	var (
		off     int64
		hdr     [frameHeader]byte
		payload []byte
		torn    string
	)
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				torn = "short frame header"
			} else if !errors.Is(err, io.EOF) {
				return off, records, fmt.Errorf("reading %s: %w", path, err)
			}
			break
		}
		n := binary.LittleEndian.Uint32(hdr[0:4])
		if n == 0 || n > maxRecord {
			torn = fmt.Sprintf("bad record length %d", n)
			break
		}
		if cap(payload) < int(n) {
			payload = make([]byte, n)
		}
		payload = payload[:n]
		if _, err := io.ReadFull(r, payload); err != nil {
			if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
				return off, records, fmt.Errorf("reading %s: %w", path, err)
			}
			torn = "short record"
			break
		}
		if crc32.Checksum(payload, crcTable) != binary.LittleEndian.Uint32(hdr[4:8]) {
			if off+frameHeader+int64(n) == fi.Size() {
				torn = "checksum mismatch"
				break
			}
			log.Error("skipping a corrupt write-ahead log record; its points are lost", "path", path, "offset", off)
		} else if err := apply(payload, records); err != nil {
			log.Warn("skipping undecodable write-ahead log record", "path", path, "offset", off, "error", err)
		}
		records++
		off += frameHeader + int64(n)
	}
	if torn != "" {
		log.Warn("write-ahead log segment has a torn tail; truncating (those points were never acknowledged)",
			"path", path, "offset", off, "reason", torn)
		if err := f.Truncate(off); err != nil {
			return off, records, fmt.Errorf("truncating torn tail of %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			return off, records, fmt.Errorf("truncating torn tail of %s: %w", path, err)
		}
	}
	return off, records, nil
}

// newWAL makes a log over dir; the caller registers replayed segments in
// segs, then calls start.
func newWAL(dir string, segBytes int64, now func() int64, log hclog.Logger, apply func(*commitReq)) *wal {
	return &wal{
		dir: dir, segBytes: segBytes, now: now, log: log, apply: apply,
		wake: make(chan struct{}, 1), stop: make(chan struct{}),
		applyq: make(chan []*commitReq, 2), done: make(chan struct{}),
	}
}

// start opens a new active segment after the replayed ones (and after
// segment number after) and starts the committer.
func (w *wal) start(after uint64) error {
	if len(w.segs) > 0 {
		after = max(after, w.segs[len(w.segs)-1].num)
	}
	if err := w.openSegment(after + 1); err != nil {
		return err
	}
	go w.run()
	go w.runApplier()
	return nil
}

func (w *wal) openSegment(num uint64) error {
	p := segPath(w.dir, num)
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("creating write-ahead log segment: %w", err)
	}
	if err := syncDir(w.dir); err != nil {
		return errors.Join(err, f.Close())
	}
	w.f = f
	w.segs = append(w.segs, &segment{num: num, path: p, created: w.now()})
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	err = d.Sync()
	return errors.Join(err, d.Close())
}

// errClosed is returned by a Write or Query after Close.
var errClosed = errors.New("metrics store is closed")

// commit appends req.rec and waits for its fsync and for req.batch to be
// in the head. It does not watch a context: once queued, a record may be
// written, and must then be applied while its batch is still valid.
func (w *wal) commit(req *commitReq) error {
	w.mu.Lock()
	switch {
	case w.err != nil:
		err := w.err
		w.mu.Unlock()
		return err
	case w.stopped:
		w.mu.Unlock()
		return errClosed
	}
	w.queue = append(w.queue, req)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	<-req.done
	return req.err
}

// run is the committer: it writes whatever is queued in one write and one
// fsync, then hands the group to the applier.
func (w *wal) run() {
	defer close(w.applyq)
	for {
		select {
		case <-w.wake:
		case <-w.stop:
			w.commitQueued() // nothing should be queued: Close waited for writers
			return
		}
		for w.commitQueued() {
		}
	}
}

// runApplier adds committed records to the head in LSN order and wakes
// their writers.
func (w *wal) runApplier() {
	defer close(w.done)
	for q := range w.applyq {
		for _, r := range q {
			w.apply(r)
			w.mu.Lock()
			r.seg.applied++
			w.mu.Unlock()
			r.done <- struct{}{}
		}
	}
}

// commitQueued commits one group; false when there was nothing to do.
func (w *wal) commitQueued() bool {
	w.mu.Lock()
	q, roll, f, seg, err := w.queue, w.roll, w.f, w.segs[len(w.segs)-1], w.err
	w.queue = nil
	w.mu.Unlock()
	if len(q) == 0 && !roll {
		return false
	}
	var n int
	if len(q) > 0 && err == nil {
		buf := q[0].rec
		if len(q) > 1 {
			buf = w.buf[:0]
			for _, r := range q {
				buf = append(buf, r.rec...)
			}
			w.buf = buf
		}
		n, err = f.Write(buf)
		if err == nil {
			err = f.Sync()
		}
		if cap(w.buf) > 16<<20 {
			w.buf = nil // do not keep a huge group's buffer
		}
	}
	w.mu.Lock()
	if err != nil && w.err == nil {
		w.err = fmt.Errorf("writing write-ahead log %s: %w", seg.path, err)
		w.log.Error("write-ahead log failed; the metrics store refuses further writes", "path", seg.path, "error", err)
	}
	err = w.err
	if err == nil {
		seg.size += int64(n)
		for _, r := range q {
			r.seg, r.lsn = seg, lsnOf(seg.num, seg.records)
			seg.records++
		}
		if seg.size >= w.segBytes || seg.records >= maxSegRecords || (w.roll && seg.size > 0) {
			w.rollLocked()
		}
	}
	w.roll = false
	w.mu.Unlock()
	if err != nil {
		for _, r := range q {
			r.err = err
			r.done <- struct{}{}
		}
		return true
	}
	if len(q) > 0 {
		w.applyq <- q
	}
	return true
}

// rollLocked closes the active segment and opens the next.
func (w *wal) rollLocked() {
	active := w.segs[len(w.segs)-1]
	err := w.f.Close()
	if err == nil {
		err = w.openSegment(active.num + 1)
	}
	if err != nil {
		w.err = fmt.Errorf("rolling write-ahead log: %w", err)
		w.log.Error("write-ahead log failed; the metrics store refuses further writes", "path", active.path, "error", err)
	}
}

// requestRoll asks the committer to close the active segment if it holds
// anything, so that it can be checkpointed.
func (w *wal) requestRoll() {
	w.mu.Lock()
	w.roll = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *wal) addChunk(seg *segment) {
	w.mu.Lock()
	seg.chunks++
	w.mu.Unlock()
}

// dropChunks records that the counted chunks are now in SQLite.
func (w *wal) dropChunks(counts map[*segment]int) {
	w.mu.Lock()
	for s, n := range counts {
		s.chunks -= n
	}
	w.mu.Unlock()
}

// checkpointable is the highest segment that, once the chunks counted in
// dropping are in SQLite, holds nothing the head still needs, such that
// every segment before it does too; 0 if none.
func (w *wal) checkpointable(dropping map[*segment]int) uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	var through uint64
	closed := w.segs[:len(w.segs)-1]
	if w.stopped {
		closed = w.segs
	}
	for _, s := range closed {
		if s.applied != s.records || s.chunks-dropping[s] != 0 {
			break
		}
		through = s.num
	}
	return through
}

// removeThrough deletes the segments numbered up to through.
func (w *wal) removeThrough(through uint64) error {
	w.mu.Lock()
	var gone []*segment
	for len(w.segs) > 0 && w.segs[0].num <= through && (len(w.segs) > 1 || w.stopped) {
		gone = append(gone, w.segs[0])
		w.segs = w.segs[1:]
	}
	w.mu.Unlock()
	var errs []error
	for _, s := range gone {
		if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("removing write-ahead log segment: %w", err))
		}
	}
	if len(gone) > 0 {
		errs = append(errs, syncDir(w.dir))
	}
	return errors.Join(errs...)
}

// walState is what the flusher looks at to decide forced cuts.
type walState struct {
	bytes        int64
	segments     int
	oldest       *segment
	oldestActive bool
	failed       error
}

func (w *wal) state() walState {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.segs) == 0 {
		return walState{failed: w.err}
	}
	st := walState{segments: len(w.segs), oldest: w.segs[0], oldestActive: len(w.segs) == 1, failed: w.err}
	for _, s := range w.segs {
		st.bytes += s.size
	}
	return st
}

// close stops the committer and the applier and closes the active segment,
// which from then on can be checkpointed like the others.
func (w *wal) close() error {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
	close(w.stop)
	<-w.done
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("closing write-ahead log: %w", err)
	}
	return nil
}
