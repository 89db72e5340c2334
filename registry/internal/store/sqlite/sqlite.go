// Package sqlite is the registry's embedded catalog store: one SQLite file
// (modernc.org/sqlite, pure Go) in WAL mode with foreign keys on, a single
// writer connection whose transactions begin IMMEDIATE, and a small pool of
// readers. It is not the SQL itself, which it shares with store/postgres
// through store/internal/sqlstore; it owns the schema's SQLite dialect
// (migrations/) and the mapping of SQLite's errors.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/vigilmon/vigil/registry/internal/store"
	"github.com/vigilmon/vigil/registry/internal/store/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// readers is the size of the read pool; WAL lets them run beside the writer.
const readers = 4

// Open opens (creating if needed) the database file at path and applies
// pending migrations.
func Open(ctx context.Context, path string) (store.Store, error) {
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)"} {
		q.Add("_pragma", p)
	}
	dsn := func(extra string) string {
		return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode() + extra
	}
	w, err := sql.Open("sqlite", dsn("&_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	w.SetMaxOpenConns(1) // the one writer
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	r, err := sql.Open("sqlite", dsn("&_pragma=query_only(1)"))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("opening %s: %w", path, err), w.Close())
	}
	r.SetMaxOpenConns(readers)
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, errors.Join(err, w.Close(), r.Close())
	}
	db, err := sqlstore.Open(ctx, w, r, sqlstore.Dialect{Migrations: sub, Anonymous: true, MapError: mapError}, r.Close, w.Close)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	return db, nil
}

// mapError wraps SQLite constraint violations with the store's sentinels.
func mapError(err error) error {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return err
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return fmt.Errorf("%w: %w", store.ErrConflict, err)
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return fmt.Errorf("%w: %w", store.ErrNotFound, err)
	case sqlite3.SQLITE_CONSTRAINT_CHECK, sqlite3.SQLITE_CONSTRAINT_NOTNULL:
		return fmt.Errorf("%w: %w", store.ErrInvalid, err)
	}
	return err
}
