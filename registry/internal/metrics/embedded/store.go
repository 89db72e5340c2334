package embedded

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/vigilmon/vigil/registry/internal/metrics"
)

// Options tunes a Store; the zero value of each field means its default.
type Options struct {
	// Retention is how long points are kept (default 7 days).
	Retention time.Duration
	// Logger receives the store's warnings and errors (default: none).
	Logger hclog.Logger
	// ChunkSamples is how many samples a chunk holds before it is moved
	// to SQLite (default 240).
	ChunkSamples int
	// MaxChunkAge is how long points may stay in the head and the log
	// before their chunks are moved to SQLite however full (default 1h).
	MaxChunkAge time.Duration
	// MaxHeadBytes bounds the memory of the head's chunks: when the open
	// ones pass it the largest are moved to SQLite until the open ones
	// take half of it, and when open and frozen
	// ones (waiting for the flusher) pass twice it writes wait for the
	// flusher (default 32 MiB).
	MaxHeadBytes int64
	// MaxWALBytes bounds the write-ahead log on disk: past it the oldest
	// segment's chunks are moved to SQLite so it can be deleted
	// (default 512 MiB).
	MaxWALBytes int64
	// SegmentBytes is the size at which a log segment is closed (default
	// 64 MiB).
	SegmentBytes int64
	// FlushInterval is how often the flusher runs (default 1s).
	FlushInterval time.Duration
	// RetentionInterval is how often expired chunks are deleted (default
	// 1m); each pass deletes a bounded number.
	RetentionInterval time.Duration
	// Now is the clock retention and chunk ages are measured on (default
	// time.Now).
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Retention <= 0 {
		o.Retention = 7 * 24 * time.Hour
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.ChunkSamples <= 0 {
		o.ChunkSamples = 240
	}
	if o.MaxChunkAge <= 0 {
		o.MaxChunkAge = time.Hour
	}
	if o.MaxHeadBytes <= 0 {
		o.MaxHeadBytes = 32 << 20
	}
	if o.MaxWALBytes <= 0 {
		o.MaxWALBytes = 512 << 20
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = 64 << 20
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = time.Second
	}
	if o.RetentionInterval <= 0 {
		o.RetentionInterval = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Store is the embedded metrics store. Its methods are safe for concurrent
// use.
type Store struct {
	opts Options
	log  hclog.Logger
	dir  string
	lock *os.File
	db   *db
	dict *dict
	wal  *wal

	seq    atomic.Uint64 // last chunk sequence number
	mem    headMemory
	flushq flushQueue
	bufs   sync.Pool // *writeBuf

	flushMu    sync.Mutex // one flush at a time
	checkpoint uint64     // guarded by flushMu

	life   sync.RWMutex // Write and Query read-lock it, Close write-locks it
	closed bool

	stop chan struct{}
	bg   sync.WaitGroup
}

var _ metrics.Store = (*Store)(nil)

// The files in a store's directory.
const (
	dbFile   = "metrics.db"
	walDir   = "wal"
	lockFile = "LOCK"
)

// Open opens the store in dir, creating it if needed, and replays its
// write-ahead log. Only one Store may have dir open at a time.
func Open(dir string, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	st := &Store{
		opts: opts, log: opts.Logger, dir: dir, dict: newDict(),
		mem: headMemory{room: make(chan struct{})}, stop: make(chan struct{}),
	}
	st.flushq.wake = make(chan struct{}, 1)
	if err := os.MkdirAll(filepath.Join(dir, walDir), 0o755); err != nil {
		return nil, fmt.Errorf("opening metrics store: %w", err)
	}
	lock, err := lockDir(filepath.Join(dir, lockFile))
	if err != nil {
		return nil, fmt.Errorf("opening metrics store: %w", err)
	}
	st.lock = lock
	if err := st.open(); err != nil {
		errs := []error{fmt.Errorf("opening metrics store in %s: %w", dir, err)}
		if st.db != nil {
			errs = append(errs, st.db.close())
		}
		return nil, errors.Join(append(errs, st.lock.Close())...)
	}
	st.bg.Add(2)
	go st.flushLoop()
	go st.retentionLoop()
	return st, nil
}

func (st *Store) open() error {
	ctx := context.Background()
	d, err := openDB(ctx, filepath.Join(st.dir, dbFile))
	if err != nil {
		return err
	}
	st.db = d
	l, err := d.load(ctx, st.dict)
	if err != nil {
		return err
	}
	st.seq.Store(l.maxChunk)
	st.checkpoint = l.checkpoint
	wdir := filepath.Join(st.dir, walDir)
	st.wal = newWAL(wdir, st.opts.SegmentBytes, st.now, st.log, st.apply)
	nums, err := listSegments(wdir)
	if err != nil {
		return err
	}
	for _, n := range nums {
		p := segPath(wdir, n)
		if n <= l.checkpoint {
			// In SQLite already; a crash came between the flush and the unlink.
			if err := os.Remove(p); err != nil {
				return fmt.Errorf("removing checkpointed write-ahead log segment: %w", err)
			}
			continue
		}
		if err := st.replay(p, n); err != nil {
			return err
		}
	}
	return st.wal.start(l.checkpoint)
}

// replay applies one segment to the head.
func (st *Store) replay(path string, num uint64) error {
	seg := &segment{num: num, path: path, created: st.now()}
	st.wal.segs = append(st.wal.segs, seg)
	sink := &replaySink{st: st, seg: seg, alias: map[uint64]*series{}}
	size, records, err := replaySegment(path, st.log, func(payload []byte, index int) error {
		sink.lsn = lsnOf(num, index)
		return decodeRecord(payload, sink)
	})
	seg.size, seg.records, seg.applied = size, records, records
	if sink.unknown > 0 {
		st.log.Warn("write-ahead log segment names series it never defined; their points were dropped",
			"path", path, "points", sink.unknown)
	}
	return err
}

// replaySink applies decoded records to the dictionary and the head.
type replaySink struct {
	st      *Store
	seg     *segment
	lsn     uint64             // of the record being decoded
	alias   map[uint64]*series // log ids that are not the dictionary's ids
	key     []byte
	unknown int
}

func (r *replaySink) define(logID uint64, measurement string, tags []metrics.Tag, field string) {
	d := r.st.dict
	d.mu.Lock()
	defer d.mu.Unlock()
	r.key = appendSetKey(r.key[:0], measurement, tags)
	id := logID
	if other := d.byID[id]; other != nil && (other.set.key != string(r.key) || other.field != field) {
		id = 0 // taken by another series: never expected, but do not merge them
	}
	s, created := d.add(r.key, measurement, tags, field, id)
	if created {
		d.unpersisted = append(d.unpersisted, s)
		s.logged.Store(true)
	}
	if s.id != logID {
		r.alias[logID] = s
	} else {
		delete(r.alias, logID)
	}
}

func (r *replaySink) sample(id uint64, t int64, v metrics.Value) {
	s := r.alias[id]
	if s == nil {
		r.st.dict.mu.RLock()
		s = r.st.dict.byID[id]
		r.st.dict.mu.RUnlock()
	}
	if s == nil {
		r.unknown++
		return
	}
	if r.lsn <= s.flushedLSN {
		return // in SQLite already
	}
	r.st.appendSample(s, t, v, r.seg, r.lsn)
}

func (st *Store) now() int64 { return st.opts.Now().UnixNano() }

// writeBuf is one Write: its points, their series and its log record;
// pooled.
type writeBuf struct {
	points []metrics.Point
	key    []byte
	refs   []*series // the series of every field of points, in order
	defs   []*series // series the record defines
	rec    []byte
	req    commitReq
}

func (st *Store) getBuf() *writeBuf {
	if w, ok := st.bufs.Get().(*writeBuf); ok {
		return w
	}
	w := &writeBuf{req: commitReq{done: make(chan struct{}, 1)}}
	w.req.batch = w
	return w
}

func (st *Store) putBuf(w *writeBuf) {
	clear(w.refs)
	clear(w.defs)
	w.points = nil
	w.req.rec, w.req.seg, w.req.err = nil, nil, nil
	if cap(w.rec) > 8<<20 {
		w.rec = nil
	}
	if cap(w.refs) > 1<<20 {
		w.refs = nil
	}
	st.bufs.Put(w)
}

// Write makes points durable in the write-ahead log, with one fsync shared
// by every writer waiting at the same time, then has them added to the head
// (where queries see them) in log order. Once the log is reached the call no longer
// watches ctx: the points are written or the store has failed.
func (st *Store) Write(ctx context.Context, points []metrics.Point) error {
	if len(points) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("writing points: %w", err)
	}
	if err := validate(points); err != nil {
		return err
	}
	st.life.RLock()
	defer st.life.RUnlock()
	if st.closed {
		return errClosed
	}
	if err := st.waitRoom(ctx); err != nil {
		return err
	}
	w := st.getBuf()
	defer st.putBuf(w)
	w.points = points
	st.dict.resolve(points, st.now(), w)
	w.rec = encodeRecord(w.rec[:0], w.defs, points, w.refs)
	w.req.rec = w.rec
	if err := st.wal.commit(&w.req); err != nil {
		return fmt.Errorf("writing points: %w", err)
	}
	return nil
}

// apply adds a committed record's points to the head; the WAL's applier
// calls it in LSN order.
func (st *Store) apply(r *commitReq) {
	w := r.batch
	for _, s := range w.defs {
		s.logged.Store(true)
	}
	k := 0
	for i := range w.points {
		p := &w.points[i]
		for j := range p.Fields {
			st.appendSample(w.refs[k], p.Time, p.Fields[j].Value, r.seg, r.lsn)
			k++
		}
	}
}

// validate rejects what the log could not encode.
func validate(points []metrics.Point) error {
	for i := range points {
		for _, f := range points[i].Fields {
			if f.Value.Kind < metrics.Float || f.Value.Kind > metrics.String {
				return fmt.Errorf("writing points: point %d (%s) field %q: unknown value kind %d",
					i, points[i].Measurement, f.Key, f.Value.Kind)
			}
		}
	}
	return nil
}

// headMemory counts the bytes of the head's chunk buffers and holds
// writers while there are too many.
type headMemory struct {
	total  atomic.Int64 // every head chunk
	frozen atomic.Int64 // the part of total in frozen chunks
	mu     sync.Mutex
	room   chan struct{} // closed and replaced after every flush
}

// open is the memory of the chunks still open for appends.
func (m *headMemory) open() int64 { return m.total.Load() - m.frozen.Load() }

// waitRoom holds a writer while the head is over twice its memory bound,
// until the flusher has moved chunks out.
func (st *Store) waitRoom(ctx context.Context) error {
	for st.mem.total.Load() > 2*st.opts.MaxHeadBytes {
		st.mem.mu.Lock()
		ch := st.mem.room
		st.mem.mu.Unlock()
		select {
		case st.flushq.wake <- struct{}{}:
		default:
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("writing points: waiting for the flusher: %w", ctx.Err())
		}
	}
	return nil
}

// signalRoom wakes the writers waitRoom holds.
func (st *Store) signalRoom() {
	st.mem.mu.Lock()
	close(st.mem.room)
	st.mem.room = make(chan struct{})
	st.mem.mu.Unlock()
}

// Flush returns at once: a point is queryable when its Write returns.
func (st *Store) Flush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("flushing metrics: %w", err)
	}
	st.life.RLock()
	defer st.life.RUnlock()
	if st.closed {
		return errClosed
	}
	return nil
}

// Close waits for writes in progress, moves the whole head to SQLite and
// removes the write-ahead log. It is safe to call twice.
func (st *Store) Close() error {
	st.life.Lock()
	if st.closed {
		st.life.Unlock()
		return nil
	}
	st.closed = true
	st.life.Unlock()
	close(st.stop)
	st.bg.Wait()
	errs := []error{st.wal.close()}
	if err := st.flushOnce(context.Background(), true); err != nil {
		errs = append(errs, fmt.Errorf("the write-ahead log is kept and will be replayed: %w", err))
	}
	errs = append(errs, st.db.close(), st.lock.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("closing metrics store: %w", err)
	}
	return nil
}

// Stats describes the store's state, for its internal metrics.
type Stats struct {
	Series      int   // field series known
	HeadBytes   int64 // memory held by head chunks
	WALBytes    int64 // bytes in live write-ahead log segments
	WALSegments int
}

// Stats returns the current figures.
func (st *Store) Stats() Stats {
	st.dict.mu.RLock()
	n := len(st.dict.byID)
	st.dict.mu.RUnlock()
	ws := st.wal.state()
	return Stats{Series: n, HeadBytes: st.mem.total.Load(), WALBytes: ws.bytes, WALSegments: ws.segments}
}
