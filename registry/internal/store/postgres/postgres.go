// Package postgres is the registry's catalog store on PostgreSQL, for a
// registry that outgrows one machine: a pgx/v5 connection pool behind
// database/sql (pgx's stdlib adapter), so the SQL is the one shared with
// store/sqlite through store/internal/sqlstore. It owns the PostgreSQL
// schema (migrations/), row locking and the mapping of PostgreSQL's errors.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/vigilmon/vigil/registry/internal/store"
	"github.com/vigilmon/vigil/registry/internal/store/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLock is an arbitrary advisory lock key ("vigil" in ASCII) that
// serialises registries migrating the same database.
const migrationLock = `SELECT pg_advisory_xact_lock(495874467948)`

// Open connects to the database at dsn (a postgres:// URL or key=value
// string, as pgx accepts) and applies pending migrations.
func Open(ctx context.Context, dsn string) (store.Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parsing PostgreSQL DSN: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connecting to PostgreSQL %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	db := stdlib.OpenDBFromPool(pool)
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		pool.Close()
		return nil, err
	}
	d := sqlstore.Dialect{Migrations: sub, MigrationLock: migrationLock, ForUpdate: " FOR UPDATE", MapError: mapError}
	s, err := sqlstore.Open(ctx, db, db, d, db.Close, func() error { pool.Close(); return nil })
	if err != nil {
		return nil, fmt.Errorf("opening PostgreSQL store: %w", err)
	}
	return s, nil
}

// mapError wraps PostgreSQL constraint violations with the store's sentinels.
func mapError(err error) error {
	var e *pgconn.PgError
	if !errors.As(err, &e) {
		return err
	}
	switch e.Code {
	case "23505": // unique_violation
		return fmt.Errorf("%w: %w", store.ErrConflict, err)
	case "23503": // foreign_key_violation
		return fmt.Errorf("%w: %w", store.ErrNotFound, err)
	case "23514", "23502", "22P02": // check_violation, not_null_violation, invalid_text_representation (bad JSON)
		return fmt.Errorf("%w: %w", store.ErrInvalid, err)
	}
	return err
}
