package httpapi

import (
	"context"
	"testing"

	"github.com/vigilmon/vigil/registry/internal/store/postgres"
	"github.com/vigilmon/vigil/test/pgtest"
)

// TestAuthorizationMatrixPostgres runs the matrix against PostgreSQL.
func TestAuthorizationMatrixPostgres(t *testing.T) {
	dsn := pgtest.Start(t)
	st, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	authorizationMatrix(t, setupFixture(t, st, t.TempDir(), 0))
}
