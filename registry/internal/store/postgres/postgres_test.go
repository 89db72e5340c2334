package postgres_test

import (
	"context"
	"testing"

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
