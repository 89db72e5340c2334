package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/registry/internal/store"
	"github.com/vigilmon/vigil/registry/internal/store/sqlite"
	"github.com/vigilmon/vigil/registry/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (store.Store, func() (store.Store, error)) {
		path := filepath.Join(t.TempDir(), "registry.db")
		reopen := func() (store.Store, error) { return sqlite.Open(context.Background(), path) }
		s, err := reopen()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s, reopen
	})
}

// TestOpen checks what the conformance suite cannot see: the pragmas, and
// that a database migrated by a newer registry is refused, not corrupted.
func TestOpen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "registry.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q (%v), want wal", mode, err)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != 3 {
		t.Errorf("schema_migrations has %d rows (%v), want 3", n, err)
	}
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied) VALUES (9999, '9999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	if s, err := sqlite.Open(ctx, path); err == nil || !strings.Contains(err.Error(), "newer version") {
		if s != nil {
			s.Close()
		}
		t.Errorf("Open of a database from a newer registry: %v, want a refusal", err)
	}
}

// BenchmarkPutLatest: go test -run '^$' -bench PutLatest -benchtime 20x -count 3
func BenchmarkPutLatest(b *testing.B) {
	s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "registry.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchPutLatest(b, s, 10_000)
}

// TestBatchClaimsMigration checks that batch ids remembered before claims
// had owners read back as confirmed: a replay of them is still dropped.
func TestBatchClaimsMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "registry.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"0001_catalog.sql", "0002_fleet.sql"} {
		body, err := os.ReadFile(filepath.Join("migrations", name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(body)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := db.Exec(`INSERT INTO schema_migrations VALUES ($1, $2, 0)`, i+1, name); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`INSERT INTO ingest_batches (node, id, seen_at) VALUES ('web-1', 'old', 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.RememberBatch(ctx, "web-1", "old", "reg-a", time.Unix(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(store.BatchClaim{Owner: "", Confirmed: true}, got); diff != "" {
		t.Errorf("a batch id remembered before the migration (-want +got):\n%s", diff)
	}
}
