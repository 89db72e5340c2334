package registryconfig

import (
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/vigilmon/vigil/hcl/agentconfig"
)

// Defaults.
const (
	DefaultListen        = "127.0.0.1:8480"
	DefaultDataDir       = "vigil-registry-data" // relative to the working directory
	DefaultTimeout       = 5 * time.Minute
	DefaultMethodTimeout = 10 * time.Second
	DefaultWorkers       = 1
	MaxWorkers           = 8

	DefaultRetention       = 7 * 24 * time.Hour
	DefaultQueueMaxBytes   = 1 << 30
	DefaultMaxBody         = 32 << 20
	DefaultMaxDecompressed = 256 << 20
	DefaultDedupeWindow    = 24 * time.Hour
)

// Metrics backends.
const (
	Embedded = "embedded"
	InfluxDB = "influxdb"
)

// What ingest does with points from a plugin that is not an approved
// release.
const (
	UnapprovedFlag   = "flag"   // stored with the tag unapproved=true, and counted
	UnapprovedReject = "reject" // refused as bad lines
)

// Storage kinds.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Config is registry.hcl decoded. Zero fields were not set; WithDefaults
// fills them.
type Config struct {
	Filename    string
	Files       map[string]*hcl.File // for rendering diagnostics
	Listen      string
	DataDir     string
	ArtifactDir string
	Storage     Storage
	Evaluation  Evaluation
	Metrics     Metrics
	Ingest      Ingest
}

// Metrics is where ingested points are stored.
type Metrics struct {
	Kind      string        // Embedded or InfluxDB
	Dir       string        // embedded: its files; influxdb: its forwarding queue (default <data>/metrics)
	Retention time.Duration // embedded
	// influxdb
	URL, Database      string
	Username, Password string
	QueueMaxBytes      int64
	// DisableGzip sends forwarded bodies uncompressed (gzip = false): cheaper
	// for both sides when InfluxDB is on the same host or a fast link.
	DisableGzip bool
}

// Ingest bounds and tunes the write endpoints.
type Ingest struct {
	MaxBody         int64         // request body as received
	MaxDecompressed int64         // after gunzip
	DedupeWindow    time.Duration // how long batch ids are remembered
	Unapproved      string        // UnapprovedFlag or UnapprovedReject
}

// Storage is the catalog backend.
type Storage struct {
	Kind string // SQLite or Postgres
	Path string // sqlite: the database file
	DSN  string // postgres: a postgres:// URL or key=value DSN
}

// Evaluation bounds release evaluations.
type Evaluation struct {
	Timeout       time.Duration // a whole evaluation
	MethodTimeout time.Duration // each declared method's answer
	Workers       int           // evaluations at a time
}

// Defaults is the configuration with no file at all.
func Defaults() *Config {
	c := &Config{Files: map[string]*hcl.File{}}
	return c.WithDefaults()
}

// WithDefaults returns a copy of c with every unset field defaulted:
// artifacts in <data>/artifacts, SQLite in <data>/registry.db.
func (c *Config) WithDefaults() *Config {
	out := *c
	if out.Listen == "" {
		out.Listen = DefaultListen
	}
	if out.DataDir == "" {
		out.DataDir = DefaultDataDir
	}
	if out.ArtifactDir == "" {
		out.ArtifactDir = filepath.Join(out.DataDir, "artifacts")
	}
	if out.Storage.Kind == "" {
		out.Storage.Kind = SQLite
	}
	if out.Storage.Kind == SQLite && out.Storage.Path == "" {
		out.Storage.Path = filepath.Join(out.DataDir, "registry.db")
	}
	if out.Evaluation.Timeout == 0 {
		out.Evaluation.Timeout = DefaultTimeout
	}
	if out.Evaluation.MethodTimeout == 0 {
		out.Evaluation.MethodTimeout = DefaultMethodTimeout
	}
	if out.Evaluation.Workers == 0 {
		out.Evaluation.Workers = DefaultWorkers
	}
	if out.Metrics.Kind == "" {
		out.Metrics.Kind = Embedded
	}
	if out.Metrics.Dir == "" {
		out.Metrics.Dir = filepath.Join(out.DataDir, "metrics")
	}
	if out.Metrics.Kind == Embedded && out.Metrics.Retention == 0 {
		out.Metrics.Retention = DefaultRetention
	}
	if out.Metrics.Kind == InfluxDB && out.Metrics.QueueMaxBytes == 0 {
		out.Metrics.QueueMaxBytes = DefaultQueueMaxBytes
	}
	if out.Ingest.MaxBody == 0 {
		out.Ingest.MaxBody = DefaultMaxBody
	}
	if out.Ingest.MaxDecompressed == 0 {
		out.Ingest.MaxDecompressed = DefaultMaxDecompressed
	}
	if out.Ingest.DedupeWindow == 0 {
		out.Ingest.DedupeWindow = DefaultDedupeWindow
	}
	if out.Ingest.Unapproved == "" {
		out.Ingest.Unapproved = UnapprovedFlag
	}
	return &out
}

var rootSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "listen"}, {Name: "data_dir"}, {Name: "artifact_dir"}},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "storage", LabelNames: []string{"kind"}}, {Type: "evaluation"},
		{Type: "metrics", LabelNames: []string{"kind"}}, {Type: "ingest"},
	},
}

var metricsSchemas = map[string]*hcl.BodySchema{
	Embedded: {Attributes: []hcl.AttributeSchema{{Name: "dir"}, {Name: "retention"}}},
	InfluxDB: {Attributes: []hcl.AttributeSchema{
		{Name: "url", Required: true}, {Name: "database", Required: true},
		{Name: "username"}, {Name: "password"}, {Name: "dir"}, {Name: "queue_max_bytes"}, {Name: "gzip"},
	}},
}

var ingestSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "max_body"}, {Name: "max_decompressed"}, {Name: "dedupe_window"}, {Name: "unapproved"},
	},
}

var storageSchemas = map[string]*hcl.BodySchema{
	SQLite:   {Attributes: []hcl.AttributeSchema{{Name: "path", Required: true}}},
	Postgres: {Attributes: []hcl.AttributeSchema{{Name: "dsn", Required: true}}},
}

var evaluationSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "timeout"}, {Name: "method_timeout"}, {Name: "workers"}},
}

// Load reads and decodes the file at path. It always returns a Config
// (partial when there are errors); callers must check diags.HasErrors().
func Load(path string) (*Config, hcl.Diagnostics) {
	src, err := os.ReadFile(path)
	if err != nil {
		return &Config{Filename: path, Files: map[string]*hcl.File{}}, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read configuration file",
			Detail:   fmt.Sprintf("Reading %s: %v. Check the path and the file's permissions.", path, err),
		}}
	}
	return Parse(src, path)
}

// Parse decodes registry.hcl source; filename names it in diagnostics and
// its directory anchors relative paths.
func Parse(src []byte, filename string) (*Config, hcl.Diagnostics) {
	cfg := &Config{Filename: filename, Files: map[string]*hcl.File{}}
	file, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if file != nil {
		cfg.Files[filename] = file
	}
	if diags.HasErrors() || file == nil {
		return cfg, diags
	}
	base := filepath.Dir(filename)
	content, d := file.Body.Content(rootSchema) // hcl suggests close names itself
	diags = append(diags, d...)
	d = decodeString(content.Attributes["listen"], &cfg.Listen)
	diags = append(diags, d...)
	diags = append(diags, decodePath(content.Attributes["data_dir"], base, &cfg.DataDir)...)
	diags = append(diags, decodePath(content.Attributes["artifact_dir"], base, &cfg.ArtifactDir)...)
	var storageSeen, evalSeen, metricsSeen, ingestSeen *hcl.Block
	for _, b := range content.Blocks {
		switch b.Type {
		case "storage":
			if storageSeen != nil {
				diags = append(diags, duplicate(b, storageSeen, "storage"))
				continue
			}
			storageSeen = b
			diags = append(diags, decodeStorage(b, base, &cfg.Storage)...)
		case "evaluation":
			if evalSeen != nil {
				diags = append(diags, duplicate(b, evalSeen, "evaluation"))
				continue
			}
			evalSeen = b
			diags = append(diags, decodeEvaluation(b, &cfg.Evaluation)...)
		case "metrics":
			if metricsSeen != nil {
				diags = append(diags, duplicate(b, metricsSeen, "metrics"))
				continue
			}
			metricsSeen = b
			diags = append(diags, decodeMetrics(b, base, &cfg.Metrics)...)
		case "ingest":
			if ingestSeen != nil {
				diags = append(diags, duplicate(b, ingestSeen, "ingest"))
				continue
			}
			ingestSeen = b
			diags = append(diags, decodeIngest(b, &cfg.Ingest)...)
		}
	}
	return cfg, diags
}

func duplicate(b, first *hcl.Block, what string) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Duplicate " + what + " block",
		Detail:   fmt.Sprintf("Only one %s block is allowed; the first is at %s. Merge them.", what, first.DefRange),
		Subject:  b.DefRange.Ptr(),
	}
}

func decodeStorage(b *hcl.Block, base string, s *Storage) hcl.Diagnostics {
	kind := b.Labels[0]
	schema, ok := storageSchemas[kind]
	if !ok {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unsupported storage kind",
			Detail:   fmt.Sprintf("Storage %q is not supported; use \"sqlite\" (embedded, the default) or \"postgres\".%s", kind, agentconfig.DidYouMean(kind, []string{SQLite, Postgres})),
			Subject:  b.LabelRanges[0].Ptr(),
		}}
	}
	s.Kind = kind
	content, diags := b.Body.Content(schema)
	switch kind {
	case SQLite:
		diags = append(diags, decodePath(content.Attributes["path"], base, &s.Path)...)
	case Postgres:
		diags = append(diags, decodeString(content.Attributes["dsn"], &s.DSN)...)
	}
	return diags
}

func decodeMetrics(b *hcl.Block, base string, m *Metrics) hcl.Diagnostics {
	kind := b.Labels[0]
	schema, ok := metricsSchemas[kind]
	if !ok {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unsupported metrics backend",
			Detail:   fmt.Sprintf("Metrics backend %q is not supported; use \"embedded\" (SQLite in the data directory, the default) or \"influxdb\".%s", kind, agentconfig.DidYouMean(kind, []string{Embedded, InfluxDB})),
			Subject:  b.LabelRanges[0].Ptr(),
		}}
	}
	m.Kind = kind
	content, diags := b.Body.Content(schema)
	diags = append(diags, decodePath(content.Attributes["dir"], base, &m.Dir)...)
	switch kind {
	case Embedded:
		diags = append(diags, decodeDuration(content.Attributes["retention"], &m.Retention)...)
	case InfluxDB:
		diags = append(diags, decodeString(content.Attributes["url"], &m.URL)...)
		if a := content.Attributes["url"]; a != nil && m.URL != "" {
			if u, err := url.Parse(m.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid InfluxDB URL",
					Detail:   fmt.Sprintf("%q is not an http or https URL; write it as \"http://127.0.0.1:8086\".", m.URL),
					Subject:  a.Expr.Range().Ptr(),
				})
			}
		}
		diags = append(diags, decodeString(content.Attributes["database"], &m.Database)...)
		diags = append(diags, decodeString(content.Attributes["username"], &m.Username)...)
		diags = append(diags, decodeString(content.Attributes["password"], &m.Password)...)
		diags = append(diags, decodeSize(content.Attributes["queue_max_bytes"], &m.QueueMaxBytes)...)
		if a := content.Attributes["gzip"]; a != nil {
			v, d := a.Expr.Value(nil)
			diags = append(diags, d...)
			if !d.HasErrors() {
				if v.Type() != cty.Bool || v.IsNull() || !v.IsKnown() {
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Invalid gzip value",
						Detail:   "gzip is true (compress bodies sent to InfluxDB, the default) or false (send them plain, cheaper on the same host).",
						Subject:  a.Expr.Range().Ptr(),
					})
				} else {
					m.DisableGzip = v.False()
				}
			}
		}
	}
	return diags
}

func decodeIngest(b *hcl.Block, in *Ingest) hcl.Diagnostics {
	content, diags := b.Body.Content(ingestSchema)
	diags = append(diags, decodeSize(content.Attributes["max_body"], &in.MaxBody)...)
	diags = append(diags, decodeSize(content.Attributes["max_decompressed"], &in.MaxDecompressed)...)
	diags = append(diags, decodeDuration(content.Attributes["dedupe_window"], &in.DedupeWindow)...)
	if a := content.Attributes["unapproved"]; a != nil {
		var s string
		d := decodeString(a, &s)
		diags = append(diags, d...)
		if !d.HasErrors() && s != UnapprovedFlag && s != UnapprovedReject {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid unapproved value",
				Detail: fmt.Sprintf("unapproved says what ingest does with points from a plugin that is not an approved release: \"flag\" (store them tagged unapproved=true, the default) or \"reject\"; got %q.%s",
					s, agentconfig.DidYouMean(s, []string{UnapprovedFlag, UnapprovedReject})),
				Subject: a.Expr.Range().Ptr(),
			})
		} else if !d.HasErrors() {
			in.Unapproved = s
		}
	}
	return diags
}

// decodeSize decodes a byte size: a whole number of bytes or a string
// such as "512MiB" (see agentconfig.ParseSize).
func decodeSize(a *hcl.Attribute, out *int64) hcl.Diagnostics {
	if a == nil {
		return nil
	}
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() || v.IsNull() || !v.IsKnown() {
		return diags
	}
	var n int64
	var err error
	switch v.Type() {
	case cty.Number:
		var acc big.Accuracy
		if n, acc = v.AsBigFloat().Int64(); acc != big.Exact || n < 1 {
			err = fmt.Errorf("must be a whole number of bytes of at least 1")
		}
	case cty.String:
		n, err = agentconfig.ParseSize(v.AsString())
	default:
		err = fmt.Errorf("must be a size such as \"512MiB\", not a %s", v.Type().FriendlyName())
	}
	if err != nil {
		return append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid " + a.Name + " value",
			Detail:   fmt.Sprintf("%s: %v.", a.Name, err),
			Subject:  a.Expr.Range().Ptr(),
		})
	}
	*out = n
	return diags
}

func decodeEvaluation(b *hcl.Block, e *Evaluation) hcl.Diagnostics {
	content, diags := b.Body.Content(evaluationSchema)
	diags = append(diags, decodeDuration(content.Attributes["timeout"], &e.Timeout)...)
	diags = append(diags, decodeDuration(content.Attributes["method_timeout"], &e.MethodTimeout)...)
	if a := content.Attributes["workers"]; a != nil {
		v, d := a.Expr.Value(nil)
		diags = append(diags, d...)
		if d.HasErrors() {
			return diags
		}
		n, ok := 0, false
		if v.Type() == cty.Number && v.IsKnown() && !v.IsNull() {
			bf := v.AsBigFloat()
			if bf.IsInt() {
				i, _ := bf.Int64()
				n, ok = int(i), i >= 1 && i <= MaxWorkers
			}
		}
		if !ok {
			return append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid workers value",
				Detail:   fmt.Sprintf("workers is how many evaluations run at once: a whole number from 1 to %d.", MaxWorkers),
				Subject:  a.Expr.Range().Ptr(),
			})
		}
		e.Workers = n
	}
	return diags
}

// decodeString decodes a string attribute into out, if present.
func decodeString(a *hcl.Attribute, out *string) hcl.Diagnostics {
	if a == nil {
		return nil
	}
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() {
		return diags
	}
	if v.Type() != cty.String || v.IsNull() || !v.IsKnown() || v.AsString() == "" {
		return append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid " + a.Name + " value",
			Detail:   fmt.Sprintf("%s must be a non-empty string in quotes.", a.Name),
			Subject:  a.Expr.Range().Ptr(),
		})
	}
	*out = v.AsString()
	return diags
}

// decodePath decodes a path relative to base.
func decodePath(a *hcl.Attribute, base string, out *string) hcl.Diagnostics {
	var s string
	diags := decodeString(a, &s)
	if s != "" {
		if !filepath.IsAbs(s) {
			s = filepath.Join(base, s)
		}
		*out = s
	}
	return diags
}

func decodeDuration(a *hcl.Attribute, out *time.Duration) hcl.Diagnostics {
	var s string
	diags := decodeString(a, &s)
	if s == "" {
		return diags
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid " + a.Name + " value",
			Detail:   fmt.Sprintf("%q is not a positive duration; write one such as \"30s\" or \"5m\".", s),
			Subject:  a.Expr.Range().Ptr(),
		})
	}
	*out = d
	return diags
}
