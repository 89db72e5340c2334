// Package sqlstore implements store.Store once, over database/sql, for
// every SQL backend. A backend (store/sqlite, store/postgres) opens the
// connections and supplies a Dialect: its migrations, its locking clauses
// and the mapping of its driver's errors onto the store's sentinels. The
// SQL here is the common subset of SQLite and PostgreSQL ($n placeholders,
// RETURNING, INSERT ... ON CONFLICT); registry-clock times are stored as
// Unix microseconds in BIGINT columns, point times (the fleet's latest
// values and promise results) as Unix nanoseconds.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigilmon/vigil/registry/internal/store"
)

// Dialect is what differs between backends.
type Dialect struct {
	// Migrations holds NNNN_description.sql files, applied in order.
	Migrations fs.FS
	// MigrationLock, if set, runs first in the migration transaction so
	// that two processes opening the same database do not both migrate.
	MigrationLock string
	// ForUpdate is appended to a SELECT that reads a row the transaction
	// is about to change (" FOR UPDATE" in PostgreSQL; SQLite has one
	// writer and needs nothing).
	ForUpdate string
	// Anonymous makes the long multi-row statements that store the fleet's
	// latest values use anonymous "?" parameters instead of "$n": SQLite
	// looks a named parameter up by a linear scan, so binding n of them
	// costs n², while PostgreSQL knows only "$n".
	Anonymous bool
	// MapError wraps a driver error with store.ErrConflict, ErrNotFound or
	// ErrInvalid when it is a constraint violation, else returns it as is.
	MapError func(error) error
}

// DB is a store.Store over a writer and a reader connection pool (the same
// pool when the database allows concurrent writers).
type DB struct {
	w, r    *sql.DB
	d       Dialect
	closers []func() error
}

var _ store.Store = (*DB)(nil)

// Open applies pending migrations through w and returns the store. closers
// run, in order, on Close.
func Open(ctx context.Context, w, r *sql.DB, d Dialect, closers ...func() error) (*DB, error) {
	db := &DB{w: w, r: r, d: d, closers: closers}
	if err := db.migrate(ctx); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return db, nil
}

// Close closes the pools.
func (db *DB) Close() error {
	var errs []error
	for _, c := range db.closers {
		errs = append(errs, c())
	}
	db.closers = nil
	return errors.Join(errs...)
}

type migration struct {
	version int64
	name    string
}

func (db *DB) migrate(ctx context.Context) error {
	files, err := fs.Glob(db.d.Migrations, "*.sql")
	if err != nil {
		return fmt.Errorf("listing migrations: %w", err)
	}
	var ms []migration
	for _, f := range files {
		n, _, ok := strings.Cut(f, "_")
		v, err := strconv.ParseInt(n, 10, 64)
		if !ok || err != nil || v <= 0 {
			return fmt.Errorf("migration %s: name must be NNNN_description.sql", f)
		}
		ms = append(ms, migration{v, f})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return db.tx(ctx, func(tx *sql.Tx) error {
		if db.d.MigrationLock != "" {
			if _, err := tx.ExecContext(ctx, db.d.MigrationLock); err != nil {
				return fmt.Errorf("locking schema_migrations: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied BIGINT NOT NULL)`); err != nil {
			return fmt.Errorf("creating schema_migrations: %w", err)
		}
		applied, err := appliedVersions(ctx, tx)
		if err != nil {
			return err
		}
		known := map[int64]bool{}
		for _, m := range ms {
			known[m.version] = true
			if applied[m.version] {
				continue
			}
			body, err := fs.ReadFile(db.d.Migrations, m.name)
			if err != nil {
				return fmt.Errorf("reading migration %s: %w", m.name, err)
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("applying migration %s: %w", m.name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied) VALUES ($1, $2, $3)`,
				m.version, m.name, now().UnixMicro()); err != nil {
				return fmt.Errorf("recording migration %s: %w", m.name, err)
			}
		}
		for v := range applied {
			if !known[v] {
				return fmt.Errorf("database has schema migration %d, which this registry does not know: it was written by a newer version", v)
			}
		}
		return nil
	})
}

func appliedVersions(ctx context.Context, tx *sql.Tx) (map[int64]bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("reading schema_migrations: %w", err)
	}
	defer rows.Close()
	applied := map[int64]bool{}
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("reading schema_migrations: %w", err)
		}
		applied[v] = true
	}
	return applied, rows.Err()
}

// tx runs fn in a write transaction, committing if it returns nil.
func (db *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		return errors.Join(err, ignoreDone(tx.Rollback()))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", db.d.MapError(err))
	}
	return nil
}

func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// fail wraps a driver error: sql.ErrNoRows becomes store.ErrNotFound, and
// constraint violations the dialect's sentinels.
func (db *DB) fail(doing string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", doing, store.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", doing, db.d.MapError(err))
}

// now is the store's clock, at the microsecond resolution both backends keep.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func fromMicro(us int64) time.Time { return time.UnixMicro(us).UTC() }

func invalid(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), store.ErrInvalid)
}
