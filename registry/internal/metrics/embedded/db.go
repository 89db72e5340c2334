package embedded

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/vigilmon/vigil/registry/internal/metrics"
)

// The SQLite side: a series dictionary, the chunks flushed from the head,
// and two counters. A chunk's id is its head sequence number, so that a
// query meeting the same chunk in the head and in SQLite (while it is being
// flushed) reads it once, and reads a series' chunks in write order.
const schema = `
CREATE TABLE IF NOT EXISTS series (
	id          INTEGER PRIMARY KEY,
	measurement TEXT NOT NULL,
	field       TEXT NOT NULL,
	tags        TEXT NOT NULL, -- JSON object, node included
	node        TEXT NOT NULL, -- the node tag, '' when absent
	lsn         INTEGER NOT NULL DEFAULT 0 -- WAL LSN of the last sample in chunks
);
CREATE TABLE IF NOT EXISTS chunks (
	id        INTEGER PRIMARY KEY,
	series_id INTEGER NOT NULL,
	min_time  INTEGER NOT NULL,
	max_time  INTEGER NOT NULL,
	count     INTEGER NOT NULL,
	data      BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_series_max_time ON chunks (series_id, max_time);
CREATE INDEX IF NOT EXISTS chunks_max_time ON chunks (max_time);
CREATE TABLE IF NOT EXISTS meta (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;
`

// meta keys: the last WAL segment whose points are all in SQLite, and the
// next series id (ids are never reused, even after retention deleted one).
const (
	metaCheckpoint = "checkpoint"
	metaNextSeries = "next_series_id"
)

// readers is the size of the query connection pool.
const readers = 4

type db struct {
	w, r *sql.DB
}

func openDB(ctx context.Context, path string) (*db, error) {
	dsn := func(pragmas ...string) string {
		q := url.Values{}
		// The driver runs _pragma entries sorted by name, then
		// _journal_mode: page_size is set before WAL mode fixes it. Pages
		// of 64 KiB keep a full chunk (about 2 KiB) in its leaf page;
		// with 4 KiB pages every chunk would spill into an overflow page
		// of its own, half empty.
		for _, p := range append([]string{"busy_timeout(10000)", "page_size(65536)"}, pragmas...) {
			q.Add("_pragma", p)
		}
		q.Set("_journal_mode", "WAL")
		return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	}
	// synchronous(NORMAL): a commit is not fsynced, except the one that
	// lets WAL segments be deleted (see flush). Measured: FULL on every
	// flush costs a third of the write throughput through disk contention.
	w, err := sql.Open("sqlite", dsn("synchronous(NORMAL)")+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	if _, err := w.ExecContext(ctx, schema); err != nil {
		return nil, errors.Join(fmt.Errorf("creating schema in %s: %w", path, err), w.Close())
	}
	r, err := sql.Open("sqlite", dsn("query_only(1)"))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("opening %s: %w", path, err), w.Close())
	}
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	return &db{w: w, r: r}, nil
}

func (d *db) close() error {
	return errors.Join(d.r.Close(), d.w.Close())
}

// loaded is what Open learns from SQLite.
type loaded struct {
	checkpoint uint64 // WAL segments up to here are in SQLite
	maxChunk   uint64
}

// load fills dict with every stored series and reads the counters.
func (d *db) load(ctx context.Context, dict *dict) (loaded, error) {
	var l loaded
	var next, maxChunk sql.NullInt64
	var cp sql.NullInt64
	err := d.w.QueryRowContext(ctx, `SELECT
		(SELECT value FROM meta WHERE key = ?), (SELECT value FROM meta WHERE key = ?), (SELECT max(id) FROM chunks)`,
		metaCheckpoint, metaNextSeries).Scan(&cp, &next, &maxChunk)
	if err != nil {
		return l, fmt.Errorf("reading metrics store counters: %w", err)
	}
	l.checkpoint, l.maxChunk = uint64(cp.Int64), uint64(maxChunk.Int64)
	dict.nextID = max(dict.nextID, uint64(next.Int64))

	rows, err := d.w.QueryContext(ctx, `SELECT id, measurement, field, tags, lsn FROM series`)
	if err != nil {
		return l, fmt.Errorf("loading series: %w", err)
	}
	defer rows.Close()
	var (
		key  []byte
		tags []metrics.Tag
		m    map[string]string
	)
	for rows.Next() {
		var (
			id, lsn         int64
			meas, field, tj string
		)
		if err := rows.Scan(&id, &meas, &field, &tj, &lsn); err != nil {
			return l, fmt.Errorf("loading series: %w", err)
		}
		clear(m)
		if err := json.Unmarshal([]byte(tj), &m); err != nil {
			return l, fmt.Errorf("loading series %d: tags: %w", id, err)
		}
		tags = tags[:0]
		for k, v := range m {
			tags = append(tags, metrics.Tag{Key: k, Value: v})
		}
		slices.SortFunc(tags, func(a, b metrics.Tag) int { return strings.Compare(a.Key, b.Key) })
		key = appendSetKey(key[:0], meas, tags)
		s, _ := dict.add(key, meas, tags, field, uint64(id))
		s.logged.Store(true)
		s.flushedLSN = uint64(lsn)
	}
	if err := rows.Err(); err != nil {
		return l, fmt.Errorf("loading series: %w", err)
	}
	return l, nil
}

func tagsJSON(tags []metrics.Tag) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, t := range tags {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(t.Key)
		v, _ := json.Marshal(t.Value)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.String()
}

// flushBatch is one flush transaction's content.
type flushBatch struct {
	series     []*series
	items      []flushItem
	checkpoint uint64 // 0: unchanged
	nextSeries uint64
}

// flush writes a batch in one transaction. One that advances the
// checkpoint is committed with synchronous=FULL: its fsync of SQLite's WAL
// makes it and every earlier commit durable before the caller deletes the
// log segments they cover.
func (d *db) flush(ctx context.Context, fb flushBatch) (err error) {
	conn, err := d.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("flushing chunks: %w", err)
	}
	defer conn.Close()
	if fb.checkpoint > 0 {
		if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = FULL`); err != nil {
			return fmt.Errorf("flushing chunks: %w", err)
		}
		defer func() {
			if _, e := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA synchronous = NORMAL`); e != nil {
				err = errors.Join(err, fmt.Errorf("flushing chunks: %w", e))
			}
		}()
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("flushing chunks: %w", err)
	}
	defer func() {
		if err != nil {
			err = errors.Join(fmt.Errorf("flushing chunks: %w", err), tx.Rollback())
		}
	}()
	if len(fb.series) > 0 {
		st, err := tx.PrepareContext(ctx, `INSERT INTO series (id, measurement, field, tags, node) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, s := range fb.series {
			if _, err := st.ExecContext(ctx, int64(s.id), s.set.measurement, s.field, tagsJSON(s.set.tags), s.set.node); err != nil {
				return err
			}
		}
	}
	if len(fb.items) > 0 {
		st, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO chunks (id, series_id, min_time, max_time, count, data) VALUES (?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		lsns := map[*series]uint64{}
		for _, it := range fb.items {
			c := it.c
			if _, err := st.ExecContext(ctx, int64(c.seq), int64(it.s.id), c.minT, c.maxT, c.n, c.b); err != nil {
				return err
			}
			lsns[it.s] = max(lsns[it.s], c.lastLSN)
		}
		up, err := tx.PrepareContext(ctx, `UPDATE series SET lsn = max(lsn, ?) WHERE id = ?`)
		if err != nil {
			return err
		}
		defer up.Close()
		for s, lsn := range lsns {
			if _, err := up.ExecContext(ctx, int64(lsn), int64(s.id)); err != nil {
				return err
			}
		}
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)`)
	if err != nil {
		return err
	}
	defer st.Close()
	if fb.checkpoint > 0 {
		if _, err := st.ExecContext(ctx, metaCheckpoint, int64(fb.checkpoint)); err != nil {
			return err
		}
	}
	if _, err := st.ExecContext(ctx, metaNextSeries, int64(fb.nextSeries)); err != nil {
		return err
	}
	return tx.Commit()
}

// releaseMemory frees the writer's page cache (see flushOnce).
func (d *db) releaseMemory(ctx context.Context) error {
	if _, err := d.w.ExecContext(ctx, `PRAGMA shrink_memory`); err != nil {
		return fmt.Errorf("shrinking the writer's cache: %w", err)
	}
	return nil
}

// storedChunk is a chunk read back for a query.
type storedChunk struct {
	seq  uint64
	data []byte
}

// chunks reads the chunks of the given series that overlap [from, to).
func (d *db) chunks(ctx context.Context, ids []uint64, from, to int64) (map[uint64][]storedChunk, error) {
	out := map[uint64][]storedChunk{}
	const batch = 256
	for len(ids) > 0 {
		n := min(len(ids), batch)
		args := make([]any, 0, n+2)
		for _, id := range ids[:n] {
			args = append(args, int64(id))
		}
		args = append(args, from, to)
		q := `SELECT series_id, id, data FROM chunks WHERE series_id IN (?` + strings.Repeat(",?", n-1) +
			`) AND max_time >= ? AND min_time < ?`
		rows, err := d.r.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("reading chunks: %w", err)
		}
		for rows.Next() {
			var (
				sid, id int64
				data    []byte
			)
			if err := rows.Scan(&sid, &id, &data); err != nil {
				return nil, errors.Join(fmt.Errorf("reading chunks: %w", err), rows.Close())
			}
			out[uint64(sid)] = append(out[uint64(sid)], storedChunk{seq: uint64(id), data: data})
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, fmt.Errorf("reading chunks: %w", err)
		}
		ids = ids[n:]
	}
	return out, nil
}

// deleteBefore deletes up to limit chunks whose samples are all older than
// cutoff and returns the series they belonged to and how many went.
func (d *db) deleteBefore(ctx context.Context, cutoff int64, limit int) ([]uint64, int, error) {
	rows, err := d.w.QueryContext(ctx, `DELETE FROM chunks WHERE id IN
		(SELECT id FROM chunks WHERE max_time < ? ORDER BY max_time LIMIT ?) RETURNING series_id`, cutoff, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("deleting expired chunks: %w", err)
	}
	seen := map[uint64]bool{}
	var ids []uint64
	n := 0
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, 0, errors.Join(fmt.Errorf("deleting expired chunks: %w", err), rows.Close())
		}
		n++
		if !seen[uint64(id)] {
			seen[uint64(id)] = true
			ids = append(ids, uint64(id))
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, 0, fmt.Errorf("deleting expired chunks: %w", err)
	}
	return ids, n, nil
}

// withoutChunks returns those of ids that have no chunk left.
func (d *db) withoutChunks(ctx context.Context, ids []uint64) ([]uint64, error) {
	var out []uint64
	for _, id := range ids {
		var one int
		err := d.w.QueryRowContext(ctx, `SELECT 1 FROM chunks WHERE series_id = ? LIMIT 1`, int64(id)).Scan(&one)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			out = append(out, id)
		case err != nil:
			return nil, fmt.Errorf("checking series %d for chunks: %w", id, err)
		}
	}
	return out, nil
}

// deleteSeries removes series rows.
func (d *db) deleteSeries(ctx context.Context, ids []uint64) error {
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("deleting series: %w", err)
	}
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `DELETE FROM series WHERE id = ?`, int64(id)); err != nil {
			return errors.Join(fmt.Errorf("deleting series: %w", err), tx.Rollback())
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("deleting series: %w", err)
	}
	return nil
}
