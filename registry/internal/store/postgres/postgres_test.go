package postgres_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/vigilmon/vigil/registry/internal/store"
	"github.com/vigilmon/vigil/registry/internal/store/postgres"
	"github.com/vigilmon/vigil/registry/internal/store/storetest"
	"github.com/vigilmon/vigil/test/pgtest"
)

func TestConformance(t *testing.T) {
	pgtest.Start(t) // one server for every subtest, each with its own database
	storetest.Run(t, func(t *testing.T) (store.Store, func() (store.Store, error)) {
		dsn := pgtest.Start(t)
		reopen := func() (store.Store, error) { return postgres.Open(context.Background(), dsn) }
		s, err := reopen()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s, reopen
	})
}

// BenchmarkPutLatest: go test -run '^$' -bench PutLatest -benchtime 20x -count 3
func BenchmarkPutLatest(b *testing.B) {
	s, err := postgres.Open(context.Background(), pgtest.Start(b))
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
	dsn := pgtest.Start(t)
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, `CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"0001_catalog.sql", "0002_fleet.sql"} {
		body, err := os.ReadFile(filepath.Join("migrations", name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Exec(ctx, string(body)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := c.Exec(ctx, `INSERT INTO schema_migrations VALUES ($1, $2, 0)`, i+1, name); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Exec(ctx, `INSERT INTO ingest_batches (node, id, seen_at) VALUES ('web-1', 'old', 0)`); err != nil {
		t.Fatal(err)
	}

	s, err := postgres.Open(ctx, dsn)
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
