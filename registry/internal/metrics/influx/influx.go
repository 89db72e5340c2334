package influx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/vigilmon/vigil/internal/spool"
	"github.com/vigilmon/vigil/registry/internal/metrics"
)

// Defaults of Options.
const (
	DefaultQueueMaxBytes = 1 << 30 // 1 GiB
	DefaultConcurrency   = 4
	DefaultBatchPoints   = 5000
	DefaultRetryMax      = 10 * time.Second
	DefaultCloseTimeout  = 10 * time.Second
)

// Options configures the store.
type Options struct {
	URL      string // InfluxDB's base URL, e.g. http://127.0.0.1:8086
	Database string // created on Open if missing
	Username string // optional, sent as HTTP basic authentication
	Password string
	// QueueMaxBytes bounds the on-disk queue. When InfluxDB is away or
	// slower than ingest long enough to fill it, Write refuses points
	// with an error that asks the client to come back (ErrQueueFull;
	// ingest answers 503 with Retry-After): the agents keep them in their
	// own spools, and nothing the registry acknowledged is ever dropped.
	QueueMaxBytes int64
	Client        *http.Client // default: a client with timeouts
	Logger        hclog.Logger
	// DisableGzip sends bodies uncompressed: cheaper for both sides when
	// InfluxDB is on the same host or a fast link.
	DisableGzip bool
	// Concurrency is the number of POSTs in flight (InfluxDB ingests
	// fastest with a few); BatchPoints the points per POST, about (small
	// records are merged up to it, large ones split at it).
	Concurrency int
	BatchPoints int
	// RetryMax caps the wait between two attempts of a failed POST.
	RetryMax time.Duration
	// CloseTimeout is how long Close waits for the queue to drain before
	// leaving the rest for the next Open.
	CloseTimeout time.Duration
}

// Stats are the store's counters since Open.
type Stats struct {
	Queued          int64 // records in the queue not yet delivered
	QueuedBytes     int64 // bytes of the queue on disk
	Forwarded       int64 // points InfluxDB accepted
	Rejected        int64 // points InfluxDB refused with a 4xx (as its "dropped=" says, else the whole body)
	RejectedBatches int64 // bodies InfluxDB answered with a 4xx
	Retries         int64 // failed attempts retried (writes, creating the database)
	Refused         int64 // points Write refused because the queue was full
	Unencodable     int64 // points Write could not express for InfluxDB 1.x (see appendPoints)
	SkippedFields   int64 // NaN, ±Inf and uints above MaxInt64 left out of their point
}

// ErrClosed is returned by calls after Close.
var ErrClosed = errors.New("influx metrics store is closed")

// ErrQueueFull is wrapped by the error Write returns when the queue holds
// QueueMaxBytes; that error also has a RetryAfter() time.Duration method,
// which ingest answers as 503 with Retry-After.
var ErrQueueFull = errors.New("the queue to InfluxDB is full")

// queueFullRetry is the Retry-After of a refused write: long enough for
// InfluxDB to take a few batches, short enough that agents resume soon.
const queueFullRetry = 2 * time.Second

type queueFull struct{ err error }

func (e queueFull) Error() string           { return e.err.Error() }
func (e queueFull) Unwrap() error           { return e.err }
func (queueFull) RetryAfter() time.Duration { return queueFullRetry }

// Store is the InfluxDB metrics backend.
type Store struct {
	opts     Options
	log      hclog.Logger
	client   *http.Client
	queryURL string
	sp       *spool.Spool
	fwd      *forwarder

	mu     sync.RWMutex // held for reading by Write around Append, for writing by Close
	closed bool

	lastAppended atomic.Uint64 // highest seq appended (the target of Flush)
	counters     counters
	full         atomic.Bool // the last Write was refused: the queue is full

	cancel    context.CancelFunc
	done      sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

var (
	_ metrics.Store      = (*Store)(nil)
	_ metrics.LineWriter = (*Store)(nil)
)

type counters struct {
	forwarded, rejected, rejectedBatches, retries, refused, unencodable, skippedFields atomic.Int64
}

// Open opens (or creates) the queue in dir, starts forwarding what it
// holds, and creates the database if InfluxDB answers; if it does not,
// the forwarder creates it before its first write.
func Open(dir string, opts Options) (*Store, error) {
	o := opts
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("influx: URL %q: want http://host:port", o.URL)
	}
	if o.Database == "" {
		return nil, errors.New("influx: a database name is required")
	}
	if o.QueueMaxBytes <= 0 {
		o.QueueMaxBytes = DefaultQueueMaxBytes
	}
	if o.Client == nil {
		o.Client = defaultClient()
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.BatchPoints <= 0 {
		o.BatchPoints = DefaultBatchPoints
	}
	if o.RetryMax <= 0 {
		o.RetryMax = DefaultRetryMax
	}
	if o.CloseTimeout <= 0 {
		o.CloseTimeout = DefaultCloseTimeout
	}
	base := strings.TrimSuffix(u.String(), "/")
	s := &Store{
		opts:     o,
		log:      o.Logger,
		client:   o.Client,
		queryURL: base + "/query",
	}
	s.sp, err = spool.Open(dir, spool.Options{MaxBytes: o.QueueMaxBytes, RefuseWhenFull: true, Logger: o.Logger.Named("queue")})
	if err != nil {
		return nil, fmt.Errorf("opening the InfluxDB queue: %w", err)
	}
	if st := s.sp.Stats(); st.Records > 0 {
		// Flush must wait for what a previous run left too: a marker
		// after it gives Flush a sequence number to wait for.
		seq, _, err := s.sp.Append(spool.Record{ID: "open"})
		if err != nil {
			s.sp.Close()
			return nil, fmt.Errorf("opening the InfluxDB queue: %w", err)
		}
		s.lastAppended.Store(seq)
		s.log.Info("forwarding points queued before the restart", "records", st.Records, "bytes", st.Bytes)
	}
	s.fwd = &forwarder{
		plain:       o.DisableGzip,
		sp:          s.sp,
		client:      o.Client,
		writeURL:    base + "/write?" + url.Values{"db": {o.Database}, "precision": {"ns"}}.Encode(),
		queryURL:    s.queryURL,
		db:          o.Database,
		user:        o.Username,
		pass:        o.Password,
		log:         o.Logger.Named("forwarder"),
		batchPoints: o.BatchPoints,
		retryMax:    o.RetryMax,
		c:           &s.counters,
		acks:        newAcker(s.sp, o.Logger),
		batches:     make(chan *batch, o.Concurrency),
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
	if err := s.fwd.createDatabase(cctx); err != nil {
		s.log.Warn("cannot create the database yet; the forwarder retries", "database", o.Database, "error", err)
	}
	ccancel()
	s.done.Add(1 + o.Concurrency)
	go func() { defer s.done.Done(); s.fwd.read(ctx) }()
	for range o.Concurrency {
		go func() { defer s.done.Done(); s.fwd.work(ctx) }()
	}
	return s, nil
}

func defaultClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	tr.ResponseHeaderTimeout = 2 * time.Minute
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	return &http.Client{Transport: tr, Timeout: 5 * time.Minute}
}

// Write encodes points and appends them to the queue; they are durable
// when it returns nil. It never waits for InfluxDB.
func (s *Store) Write(ctx context.Context, points []metrics.Point) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("write interrupted: %w", err)
	}
	bp := bufPool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= maxPooledBuf {
			bufPool.Put(bp)
		}
	}()
	b, e := appendPoints((*bp)[:0], points)
	*bp = b
	if e.droppedPoints > 0 || e.droppedFields > 0 {
		s.counters.unencodable.Add(int64(e.droppedPoints))
		s.counters.skippedFields.Add(int64(e.droppedFields))
		s.log.Debug("points or fields InfluxDB 1.x cannot store were left out", "points", e.droppedPoints, "fields", e.droppedFields)
	}
	if e.points == 0 {
		return nil
	}
	return s.append(e.points, b)
}

// WriteLines is Write for points whose line protocol ingest already holds
// in the form InfluxDB takes (see metrics.LineWriter): lines is queued as
// it is, with no encoding.
func (s *Store) WriteLines(ctx context.Context, points []metrics.Point, lines []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("write interrupted: %w", err)
	}
	if len(points) == 0 {
		return nil
	}
	return s.append(len(points), lines)
}

// Admit returns the error Write would return (ErrQueueFull, with a
// RetryAfter) while the queue is full, so that ingest can answer before
// it reads and decodes a body it would have to refuse; nil otherwise.
func (s *Store) Admit() error {
	if !s.full.Load() {
		return nil
	}
	if st := s.sp.Stats(); st.Bytes+min(admitHeadroom, s.opts.QueueMaxBytes/8) <= s.opts.QueueMaxBytes {
		return nil // the forwarder made room since the last refusal
	}
	return queueFull{fmt.Errorf("%w (%d bytes: InfluxDB is down or slower than ingest)", ErrQueueFull, s.opts.QueueMaxBytes)}
}

// admitHeadroom is the room Admit wants in the queue before it lets
// requests in again (an eighth of a smaller queue): about an agent's
// largest batch.
const admitHeadroom = 4 << 20

// append queues n points of line protocol; they are durable when it
// returns nil.
func (s *Store) append(n int, lines []byte) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	seq, _, err := s.sp.Append(spool.Record{Count: n, Data: lines})
	if errors.Is(err, spool.ErrFull) {
		s.counters.refused.Add(int64(n))
		if s.full.CompareAndSwap(false, true) {
			s.log.Warn("the queue to InfluxDB is full: refusing writes (503, the agents retry) until InfluxDB catches up",
				"max_bytes", s.opts.QueueMaxBytes, "queued", s.sp.Stats().Records)
		}
		return queueFull{fmt.Errorf("%w (%d bytes: InfluxDB is down or slower than ingest): %w", ErrQueueFull, s.opts.QueueMaxBytes, err)}
	}
	if err != nil {
		return fmt.Errorf("queueing points for InfluxDB: %w", err)
	}
	if s.full.CompareAndSwap(true, false) {
		s.log.Info("the queue to InfluxDB takes writes again", "refused_points", s.counters.refused.Load())
	}
	for {
		last := s.lastAppended.Load()
		if seq <= last || s.lastAppended.CompareAndSwap(last, seq) {
			break
		}
	}
	return nil
}

// bufPool holds encoding buffers; the queue does not keep what it is given.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

const maxPooledBuf = 16 << 20

// Flush waits until InfluxDB has every point written before the call (or
// the queue dropped it for room).
func (s *Store) Flush(ctx context.Context) error {
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	return s.flush(ctx)
}

func (s *Store) flush(ctx context.Context) error {
	target := s.lastAppended.Load()
	for {
		acked, changed := s.fwd.acks.progress()
		if acked >= target {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("flush to InfluxDB interrupted with %d queued records: %w", s.sp.Stats().Records, ctx.Err())
		}
	}
}

// Stats returns the counters.
func (s *Store) Stats() Stats {
	q := s.sp.Stats()
	return Stats{
		Queued:          q.Records,
		QueuedBytes:     q.Bytes,
		Forwarded:       s.counters.forwarded.Load(),
		Rejected:        s.counters.rejected.Load(),
		RejectedBatches: s.counters.rejectedBatches.Load(),
		Retries:         s.counters.retries.Load(),
		Refused:         s.counters.refused.Load(),
		Unencodable:     s.counters.unencodable.Load(),
		SkippedFields:   s.counters.skippedFields.Load(),
	}
}

// Query asks InfluxDB q in InfluxQL.
func (s *Store) Query(ctx context.Context, q metrics.Query) ([]metrics.Series, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	form := url.Values{"db": {s.opts.Database}, "q": {influxQL(q)}, "epoch": {"ns"}, "chunked": {"true"}, "chunk_size": {"10000"}}
	// A SELECT changes nothing: an answer cut short (a connection closed
	// mid-stream, as a proxy or a restart does) is asked again.
	var err error
	for attempt := 0; attempt < queryAttempts; attempt++ {
		var series []metrics.Series
		series, err = s.queryOnce(ctx, form, q)
		if err == nil || !errors.Is(err, io.ErrUnexpectedEOF) || ctx.Err() != nil {
			return series, err
		}
	}
	return nil, err
}

// queryAttempts bounds how often a cut-short answer is asked again.
const queryAttempts = 3

func (s *Store) queryOnce(ctx context.Context, form url.Values, q metrics.Query) ([]metrics.Series, error) {
	resp, err := s.fwd.postQuery(ctx, form)
	if err != nil {
		return nil, fmt.Errorf("querying InfluxDB: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("querying InfluxDB: %s: %s", resp.Status, errorMessage(resp.Body))
	}
	series, err := readSeries(resp.Body, q)
	if err != nil {
		if strings.Contains(err.Error(), "database not found") {
			return nil, nil // nothing forwarded yet: nothing to answer
		}
		return nil, fmt.Errorf("querying InfluxDB: %w", err)
	}
	return series, nil
}

// Close stops taking writes, waits up to CloseTimeout for the queue to
// drain, then stops the forwarder and closes the queue. What InfluxDB has
// not acknowledged by then stays queued on disk for the next Open.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.CloseTimeout)
		if err := s.flush(ctx); err != nil {
			s.log.Warn("closing with points still queued; they are forwarded at the next start", "records", s.sp.Stats().Records)
		}
		cancel()
		s.cancel()
		s.done.Wait()
		if err := s.sp.Close(); err != nil {
			s.closeErr = fmt.Errorf("closing the InfluxDB queue: %w", err)
		}
	})
	return s.closeErr
}

// errorMessage reads InfluxDB's error answer, bounded.
func errorMessage(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, 4<<10))
	msg := strings.TrimSpace(string(b))
	if m := jsonError(b); m != "" {
		msg = m
	}
	if msg == "" {
		msg = "(no message)"
	}
	return msg
}
