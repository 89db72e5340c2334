package embedded

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"modernc.org/libc"
	lib "modernc.org/sqlite/lib"

	"github.com/vigilmon/vigil/registry/internal/metrics"
)

// pageCacheBytes is what SQLite's page cache of db's connection holds
// (sqlite3_db_status CACHE_USED). database/sql hides the connection's
// handle, so it is read from modernc's driver connection by reflection.
func pageCacheBytes(t *testing.T, db *sql.DB) int {
	t.Helper()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var used int32
	err = conn.Raw(func(dc any) error {
		f := reflect.ValueOf(dc).Elem().FieldByName("db")
		if !f.IsValid() || f.Kind() != reflect.Uintptr {
			return fmt.Errorf("modernc's connection %T has no db handle any more: update this test", dc)
		}
		tls := libc.NewTLS()
		defer tls.Close()
		out := new([2]int32) // current, highwater; on the heap, which does not move
		if rc := lib.Xsqlite3_db_status(tls, uintptr(f.Uint()), lib.SQLITE_DBSTATUS_CACHE_USED,
			uintptr(unsafe.Pointer(&out[0])), uintptr(unsafe.Pointer(&out[1])), 0); rc != lib.SQLITE_OK {
			return fmt.Errorf("sqlite3_db_status: %d", rc)
		}
		runtime.KeepAlive(out)
		used = out[0]
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return int(used)
}

// TestFlushLeavesNoPageCache: with another database in the process, as
// the registry's catalog is, SQLite let the writer's cache of 64 KiB pages
// grow far past its own 2 MB cache_size (the bound is a page count shared
// by every connection); in the registry it grew by megabytes a second.
// After each flush the writer's cache must be back under that size.
func TestFlushLeavesNoPageCache(t *testing.T) {
	other, err := sql.Open("sqlite", "file:"+t.TempDir()+"/catalog.db?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Exec(`CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)`); err != nil {
		t.Fatal(err)
	}
	// Its connections, as the catalog's writer and readers, each add their
	// cache's pages to the budget.
	for range 4 {
		c, err := other.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var n int
		if err := c.QueryRowContext(context.Background(), `SELECT count(*) FROM t`).Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	st := openTest(t, t.TempDir(), Options{})
	start := time.Now().Add(-time.Hour).Truncate(time.Second).UnixNano()
	const series, fields = 700, 9
	pts := make([]metrics.Point, 5000)
	for b := range 60 {
		for i := range pts {
			k := int64(b*len(pts) + i)
			fs := make([]metrics.Field, fields)
			for f := range fs {
				fs[f] = metrics.Field{Key: fmt.Sprintf("f%d", f), Value: metrics.Value{Kind: metrics.Float, F: float64(k%977) / 7}}
			}
			pts[i] = metrics.Point{Measurement: "cpu", Fields: fs, Time: start + k/series*int64(time.Second),
				Tags: []metrics.Tag{{Key: "cpu", Value: fmt.Sprintf("cpu%d", k%series)}, {Key: "node", Value: "n1"}}}
		}
		if err := st.Write(context.Background(), pts); err != nil {
			t.Fatal(err)
		}
		if _, err := other.Exec(`INSERT INTO t (k, v) VALUES (?, ?)`, b, fmt.Sprint(b)); err != nil {
			t.Fatal(err)
		}
		if b%10 == 9 {
			if err := st.flushOnce(context.Background(), true); err != nil {
				t.Fatal(err)
			}
			if used := pageCacheBytes(t, st.db.w); used > 2<<20 {
				t.Fatalf("after flush %d: the writer's page cache holds %d KiB, over its 2 MiB cache_size", b/10+1, used>>10)
			}
		}
	}
}
