// Package pgtest gives tests a real, throwaway PostgreSQL database. With
// $VIGIL_POSTGRES_DSN set it creates databases on that server; otherwise
// it starts a private server (initdb in a temporary directory, listening on
// 127.0.0.1 on a free port, fsync off) shared by the tests that overlap in
// time and stopped when the last of them ends. Every call to Start gets a
// database of its own, dropped at the end of its test. Without PostgreSQL's
// server binaries the test is skipped on a developer machine and fails in
// CI (CI set), where .ci/run installs them.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

var (
	mu      sync.Mutex
	running *server // the private server, while users > 0
	users   int
	seq     int
)

type server struct {
	base string // DSN of its postgres database
	stop func() error
}

// Start returns the DSN (a postgres:// URL) of a fresh, empty database.
func Start(t testing.TB) string {
	t.Helper()
	base := os.Getenv("VIGIL_POSTGRES_DSN")
	if base == "" {
		base = acquire(t)
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connecting to PostgreSQL: %v", err)
	}
	defer admin.Close(ctx)
	mu.Lock()
	seq++
	name := fmt.Sprintf("vigil_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, seq)
	mu.Unlock()
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("connecting to drop %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping database %s: %v", name, err)
		}
	})
	return withDatabase(base, name)
}

// withDatabase returns dsn (a URL or a key=value string) naming database db.
func withDatabase(dsn, db string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path = "/" + db
		return u.String()
	}
	return dsn + " dbname=" + db
}

// acquire returns the private server's DSN, starting it if no test is
// using it, and releases it when t ends.
func acquire(t testing.TB) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if running == nil {
		s, err := startServer(t)
		if err != nil {
			t.Fatal(err)
		}
		running = s
	}
	users++
	s := running
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		users--
		if users > 0 {
			return
		}
		running = nil
		if err := s.stop(); err != nil {
			t.Errorf("stopping PostgreSQL: %v", err)
		}
	})
	return s.base
}

// binDir finds initdb and pg_ctl: on $PATH, else the newest Debian install.
func binDir(t testing.TB) string {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if _, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p)
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("PostgreSQL server binaries (initdb, pg_ctl) not found; .ci/run installs Debian's postgresql package")
	}
	t.Skip("PostgreSQL server binaries not found (apt-get install postgresql, or set VIGIL_POSTGRES_DSN); skipping outside CI")
	return ""
}

func version(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}

func startServer(t testing.TB) (*server, error) {
	bin := binDir(t)
	// PostgreSQL refuses to run as root: then run it as the postgres user,
	// in a directory that user owns (t.TempDir's parent is root-only).
	asPostgres := os.Geteuid() == 0
	dir, err := os.MkdirTemp("", "vigil-pgtest-")
	if err != nil {
		return nil, err
	}
	if asPostgres {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root needs a postgres user to run PostgreSQL as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	run := func(name string, args ...string) *exec.Cmd {
		path := filepath.Join(bin, name)
		if asPostgres {
			return exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
		}
		return exec.Command(path, args...)
	}
	data, logf := filepath.Join(dir, "data"), filepath.Join(dir, "postgres.log")
	if out, err := run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c synchronous_commit=off -c full_page_writes=off", port, dir)
	stop := func() error {
		err := run("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop").Run()
		return errors.Join(err, os.RemoveAll(dir))
	}
	if out, err := run("pg_ctl", "-D", data, "-l", logf, "-o", opts, "-w", "-t", "60", "start").CombinedOutput(); err != nil {
		b, _ := os.ReadFile(logf)
		_ = stop()
		return nil, fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, b)
	}
	base := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	// pg_ctl -w waited for the server; check it accepts TCP connections too.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		c, err := pgx.Connect(ctx, base)
		if err == nil {
			c.Close(ctx)
			break
		}
		if ctx.Err() != nil {
			b, _ := os.ReadFile(logf)
			_ = stop()
			return nil, fmt.Errorf("PostgreSQL on port %d does not accept connections: %v\n%s", port, err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return &server{base: base, stop: stop}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
