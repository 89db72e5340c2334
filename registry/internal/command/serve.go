package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"

	"github.com/vigilmon/vigil/hcl/registryconfig"
	"github.com/vigilmon/vigil/registry/internal/evalqueue"
	"github.com/vigilmon/vigil/registry/internal/evaluate"
	"github.com/vigilmon/vigil/registry/internal/httpapi"
	"github.com/vigilmon/vigil/registry/internal/ingest"
	"github.com/vigilmon/vigil/registry/internal/metrics"
	"github.com/vigilmon/vigil/registry/internal/metrics/embedded"
	"github.com/vigilmon/vigil/registry/internal/metrics/influx"
	"github.com/vigilmon/vigil/registry/internal/queryapi"
	"github.com/vigilmon/vigil/registry/internal/store"
	"github.com/vigilmon/vigil/registry/internal/store/postgres"
	"github.com/vigilmon/vigil/registry/internal/store/sqlite"
)

// ServeCommand runs the registry.
type ServeCommand struct {
	Meta
	// ready, if set, receives the listening address (tests).
	ready func(addr string)
}

// Synopsis implements Command.
func (c *ServeCommand) Synopsis() string { return "Run the registry" }

// Help implements Command.
func (c *ServeCommand) Help() string {
	return `Usage: vigil-registry serve [--config registry.hcl] [--listen ADDR] [--data DIR]
                            [--log-level info] [--log-format text|json]

  Runs the registry's /v1 API. With no configuration it keeps everything in
  the data directory (default ./` + registryconfig.DefaultDataDir + `): the SQLite catalog
  registry.db and the artifacts/ directory. On first start it creates an
  admin token and prints it once; set VIGIL_REGISTRY_ADMIN_TOKEN to choose
  it instead. SIGINT or SIGTERM stops it gracefully; a second one forces it.`
}

// defaultMemoryLimit is the registry's soft memory limit (see
// runtime/debug.SetMemoryLimit) unless GOMEMLIMIT sets one. Without it the
// heap grows to twice what is live before a collection: measured with
// 1,000 agents (300k series), 230 MB live became 500–640 MB of heap. The
// limit is soft: past it the GC runs more often, never fails an
// allocation.
const defaultMemoryLimit = 384 << 20

type serveArgs struct {
	Config, Listen, Data string
	LogLevel, LogFormat  string
}

func parseServeArgs(args []string, stderr io.Writer) (serveArgs, error) {
	fs := newFlags("serve", stderr)
	a := serveArgs{}
	fs.StringVar(&a.Config, "config", "", "registry.hcl to read")
	fs.StringVar(&a.Listen, "listen", "", "address to listen on (default "+registryconfig.DefaultListen+")")
	fs.StringVar(&a.Data, "data", "", "data directory (default ./"+registryconfig.DefaultDataDir+")")
	fs.StringVar(&a.LogLevel, "log-level", "info", "trace, debug, info, warn or error")
	fs.StringVar(&a.LogFormat, "log-format", "text", "text or json")
	if err := fs.Parse(args); err != nil {
		return a, err
	}
	if fs.NArg() > 0 {
		return a, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if hclog.LevelFromString(a.LogLevel) == hclog.NoLevel {
		return a, fmt.Errorf("--log-level must be trace, debug, info, warn or error, not %q", a.LogLevel)
	}
	if a.LogFormat != "text" && a.LogFormat != "json" {
		return a, fmt.Errorf("--log-format must be text or json, not %q", a.LogFormat)
	}
	return a, nil
}

// config loads the file (if any) and applies the flags over it.
func (a serveArgs) config() (*registryconfig.Config, hcl.Diagnostics) {
	cfg := &registryconfig.Config{}
	var diags hcl.Diagnostics
	if a.Config != "" {
		cfg, diags = registryconfig.Load(a.Config)
	}
	if a.Listen != "" {
		cfg.Listen = a.Listen
	}
	if a.Data != "" {
		cfg.DataDir = a.Data
	}
	return cfg.WithDefaults(), diags
}

// Run implements Command.
func (c *ServeCommand) Run(ctx context.Context, args []string) int {
	a, err := parseServeArgs(args, c.Stderr)
	if err != nil {
		fmt.Fprintln(c.Stderr, err)
		return ExitUsage
	}
	cfg, diags := a.config()
	if len(diags) > 0 {
		wr := hcl.NewDiagnosticTextWriter(c.Stderr, cfg.Files, 78, false)
		_ = wr.WriteDiagnostics(diags)
	}
	if diags.HasErrors() {
		return ExitUsage
	}
	log := hclog.New(&hclog.LoggerOptions{Name: "vigil-registry", Level: hclog.LevelFromString(a.LogLevel), Output: c.Stderr, JSONFormat: a.LogFormat == "json"})
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	if err := c.serve(ctx, cfg, log); err != nil {
		log.Error("registry stopped", "error", err)
		return ExitFailure
	}
	return ExitOK
}

func (c *ServeCommand) serve(ctx context.Context, cfg *registryconfig.Config, log hclog.Logger) error {
	for _, d := range []string{cfg.DataDir, cfg.ArtifactDir} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return fmt.Errorf("creating %s: %w", d, err)
		}
	}
	st, err := openStore(ctx, cfg.Storage)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := c.bootstrapAdmin(ctx, st, log); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ev := evaluate.New(evaluate.Config{
		WorkDir: filepath.Join(cfg.DataDir, "evaluations"), Timeout: cfg.Evaluation.Timeout,
		MethodTimeout: cfg.Evaluation.MethodTimeout, Logger: log,
	})
	if err := os.MkdirAll(filepath.Join(cfg.DataDir, "evaluations"), 0o750); err != nil {
		return fmt.Errorf("creating evaluation directory: %w", err)
	}
	queue := evalqueue.New(evalqueue.Config{Store: st, Evaluator: ev, ArtifactDir: cfg.ArtifactDir, Workers: cfg.Evaluation.Workers, Logger: log})
	queueDone := make(chan error, 1)
	go func() { queueDone <- queue.Run(ctx) }()

	ms, err := openMetrics(cfg.Metrics, log.Named("metrics"))
	if err != nil {
		cancel()
		<-queueDone
		return err
	}
	defer func() {
		if err := ms.Close(); err != nil {
			log.Error("closing the metrics store", "error", err)
		}
	}()
	api := httpapi.New(httpapi.Config{Store: st, ArtifactDir: cfg.ArtifactDir, Queue: queue, Logger: log.Named("api")})
	in := ingest.New(ingest.Config{
		Catalog: st, Metrics: ms, Logger: log.Named("ingest"), Version: c.Version,
		MaxBody: cfg.Ingest.MaxBody, MaxDecompressed: cfg.Ingest.MaxDecompressed,
		DedupeWindow: cfg.Ingest.DedupeWindow, Unapproved: cfg.Ingest.Unapproved,
	})
	in.Start()
	// After the HTTP server stops (deferred calls run last-in first-out,
	// and the server is shut down below): flush the fleet state, then the
	// metrics store closes.
	defer func() {
		if err := in.Close(); err != nil {
			log.Error("closing ingest", "error", err)
		}
	}()
	mux := http.NewServeMux()
	for _, p := range in.Routes() {
		mux.Handle(p, in)
	}
	mux.Handle("GET /v1/query/series", queryapi.New(queryapi.Config{
		Store: ms, Authenticate: api.Authenticate, WriteError: api.WriteError, Logger: log.Named("query"),
	}))
	mux.Handle("/", api)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Minute, // a 512 MiB upload on a slow link
		WriteTimeout:      30 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          log.Named("http").StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		cancel()
		<-queueDone
		return fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}
	log.Info("registry listening", "addr", ln.Addr().String(), "data", cfg.DataDir, "storage", cfg.Storage.Kind, "metrics", cfg.Metrics.Kind)
	if c.ready != nil {
		c.ready(ln.Addr().String())
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	var serveErr error
	select {
	case serveErr = <-served:
	case <-c.Signals:
		log.Info("shutting down; a second signal forces it")
	case <-ctx.Done():
	}
	// Stop taking requests, cancel evaluations (their releases go back to
	// pending), wait for both within a deadline.
	sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer scancel()
	go func() {
		select {
		case <-c.Signals:
			log.Warn("forced shutdown")
			scancel()
		case <-sctx.Done():
		}
	}()
	cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		serveErr = errors.Join(serveErr, fmt.Errorf("shutting down HTTP: %w", err))
	}
	select {
	case err := <-queueDone:
		serveErr = errors.Join(serveErr, err)
	case <-sctx.Done():
		serveErr = errors.Join(serveErr, errors.New("evaluations did not stop in time"))
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	log.Info("registry stopped")
	return serveErr
}

func openStore(ctx context.Context, s registryconfig.Storage) (store.Store, error) {
	switch s.Kind {
	case registryconfig.Postgres:
		st, err := postgres.Open(ctx, s.DSN)
		if err != nil {
			return nil, fmt.Errorf("opening PostgreSQL catalog: %w", err)
		}
		return st, nil
	default:
		st, err := sqlite.Open(ctx, s.Path)
		if err != nil {
			return nil, fmt.Errorf("opening SQLite catalog: %w", err)
		}
		return st, nil
	}
}

// openMetrics opens the metrics backend registry.hcl chose.
func openMetrics(m registryconfig.Metrics, log hclog.Logger) (metrics.Store, error) {
	switch m.Kind {
	case registryconfig.InfluxDB:
		st, err := influx.Open(m.Dir, influx.Options{
			URL: m.URL, Database: m.Database, Username: m.Username, Password: m.Password,
			QueueMaxBytes: m.QueueMaxBytes, DisableGzip: m.DisableGzip, Logger: log,
		})
		if err != nil {
			return nil, fmt.Errorf("opening the InfluxDB metrics backend (queue in %s): %w", m.Dir, err)
		}
		return st, nil
	default:
		st, err := embedded.Open(m.Dir, embedded.Options{Retention: m.Retention, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("opening the embedded metrics store in %s: %w", m.Dir, err)
		}
		return st, nil
	}
}

// bootstrapAdmin makes sure an admin can log in: the token from
// VIGIL_REGISTRY_ADMIN_TOKEN is stored (by hash) if it is not yet; with
// none and no admin at all, a new token is created and printed once.
func (c *ServeCommand) bootstrapAdmin(ctx context.Context, st store.Credentials, log hclog.Logger) error {
	if secret := c.Getenv("VIGIL_REGISTRY_ADMIN_TOKEN"); secret != "" {
		if len(secret) < 20 {
			return errors.New("VIGIL_REGISTRY_ADMIN_TOKEN is too short to be safe: use at least 20 random characters")
		}
		h := store.HashSecret(secret)
		if _, err := st.CredentialByHash(ctx, h); err == nil {
			return nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("looking up the admin token: %w", err)
		}
		if _, err := st.CreateCredential(ctx, store.Credential{Role: store.RoleAdmin, Hash: h}); err != nil {
			return fmt.Errorf("storing the admin token: %w", err)
		}
		log.Info("admin token from VIGIL_REGISTRY_ADMIN_TOKEN stored")
		return nil
	}
	creds, err := st.ListCredentials(ctx)
	if err != nil {
		return fmt.Errorf("listing tokens: %w", err)
	}
	for _, cr := range creds {
		if cr.Role == store.RoleAdmin && cr.Revoked == nil {
			return nil
		}
	}
	secret, h := store.NewSecret()
	if _, err := st.CreateCredential(ctx, store.Credential{Role: store.RoleAdmin, Hash: h}); err != nil {
		return fmt.Errorf("creating the admin token: %w", err)
	}
	fmt.Fprintf(c.Stdout, "Created the admin token. It is shown only now; keep it safe:\n\n  %s\n\n"+
		"Use it with: export VIGIL_REGISTRY_TOKEN=%s\n", secret, secret)
	return nil
}
