package agentconfig

import (
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Output kinds.
const (
	OutputStdout   = "stdout"
	OutputFile     = "file"
	OutputInfluxDB = "influxdb"
	OutputRegistry = "registry"
)

// DefaultOutputTimeout bounds one write to a network output.
const DefaultOutputTimeout = 10 * time.Second

// DefaultSpoolMaxBytes bounds an output's disk spool when spool_max_bytes
// is not set.
const DefaultSpoolMaxBytes = 512 << 20

var outputKinds = []string{OutputRegistry, OutputInfluxDB, OutputFile, OutputStdout}

// Output is an output block: where batches of points go. Which fields are
// set depends on Kind.
type Output struct {
	Kind      string
	DeclRange hcl.Range // empty for the default output
	Path      string    // file: where points are appended
	// influxdb
	URL      string
	Database string
	Username string
	Password string
	// Gzip compresses request bodies (influxdb, registry; default true).
	Gzip bool
	// Timeout bounds one write (influxdb, registry; default
	// DefaultOutputTimeout).
	Timeout time.Duration
	// Spool puts a disk spool in <data_dir>/spool/<kind> before the
	// output, bounded by SpoolMaxBytes: batches survive outages and
	// restarts, and only a full spool drops (the oldest). Always on for
	// the registry output; "spool = true" turns it on for influxdb.
	Spool         bool
	SpoolMaxBytes int64
}

var outputSchemas = map[string]*hcl.BodySchema{
	OutputStdout: {},
	OutputFile:   {Attributes: []hcl.AttributeSchema{{Name: "path", Required: true}}},
	OutputInfluxDB: {Attributes: []hcl.AttributeSchema{
		{Name: "url", Required: true}, {Name: "database", Required: true},
		{Name: "username"}, {Name: "password"}, {Name: "gzip"}, {Name: "timeout"},
		{Name: "spool"}, {Name: "spool_max_bytes"},
	}},
	OutputRegistry: {Attributes: []hcl.AttributeSchema{{Name: "gzip"}, {Name: "timeout"}, {Name: "spool_max_bytes"}}},
}

// decodeOutputs decodes the output blocks, or returns the default output
// when there are none.
func decodeOutputs(blocks []*hcl.Block, reg *Registry, base string, diags *hcl.Diagnostics) []Output {
	if len(blocks) == 0 {
		if reg != nil {
			return []Output{{Kind: OutputRegistry, Gzip: true, Timeout: DefaultOutputTimeout, Spool: true, SpoolMaxBytes: DefaultSpoolMaxBytes}}
		}
		return []Output{{Kind: OutputStdout}}
	}
	var outs []Output
	seen := map[string]hcl.Range{}
	for _, b := range blocks {
		o, ok := decodeOutput(b, reg, base, diags)
		if !ok {
			continue
		}
		if first, dup := seen[o.Kind]; dup {
			*diags = append(*diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate output",
				Detail:   fmt.Sprintf("An output %q is already configured on %s; keep one.", o.Kind, lineOf(first)),
				Subject:  b.DefRange.Ptr(),
			})
			continue
		}
		seen[o.Kind] = b.DefRange
		outs = append(outs, o)
	}
	return outs
}

func decodeOutput(b *hcl.Block, reg *Registry, base string, diags *hcl.Diagnostics) (Output, bool) {
	o := Output{Kind: b.Labels[0], DeclRange: b.DefRange}
	schema, ok := outputSchemas[o.Kind]
	if !ok {
		*diags = append(*diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unsupported output kind",
			Detail: fmt.Sprintf("There is no output %q; the kinds are %s.%s",
				o.Kind, quotedList(outputKinds), DidYouMean(o.Kind, outputKinds)),
			Subject: b.LabelRanges[0].Ptr(),
		})
		return o, false
	}
	content, d := b.Body.Content(schema)
	*diags = append(*diags, d...)
	r := reader{attrs: content.Attributes, diags: diags}
	switch o.Kind {
	case OutputFile:
		r.path("path", base, &o.Path)
	case OutputInfluxDB:
		if r.nonEmpty("url", &o.URL) {
			if u, err := url.Parse(o.URL); err != nil || !slices.Contains([]string{"http", "https"}, u.Scheme) || u.Host == "" {
				a := content.Attributes["url"]
				r.errorAt(a, a.Expr.Range(), "Invalid InfluxDB URL",
					"%q is not an http or https URL; write it as \"http://127.0.0.1:8086\".", o.URL)
			}
		}
		r.nonEmpty("database", &o.Database)
		r.str("username", &o.Username)
		r.str("password", &o.Password)
	case OutputRegistry:
		if reg == nil {
			*diags = append(*diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Missing registry block",
				Detail:   "The registry output sends points to the registry configured in a registry block; add one with its url and token.",
				Subject:  b.DefRange.Ptr(),
			})
		}
	}
	if o.Kind == OutputInfluxDB || o.Kind == OutputRegistry {
		o.Gzip, o.Timeout = true, DefaultOutputTimeout
		r.boolean("gzip", &o.Gzip)
		r.duration("timeout", &o.Timeout)
		o.Spool = o.Kind == OutputRegistry
		r.boolean("spool", &o.Spool)
		limit := int64(DefaultSpoolMaxBytes)
		if r.size("spool_max_bytes", &limit) && !o.Spool {
			a := content.Attributes["spool_max_bytes"]
			r.errorAt(a, a.NameRange, "Spool is off",
				"spool_max_bytes bounds the disk spool, which this output does not have; add spool = true or remove spool_max_bytes.")
		}
		if o.Spool {
			o.SpoolMaxBytes = limit
		}
	}
	return o, true
}
