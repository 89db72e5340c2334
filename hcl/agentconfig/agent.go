package agentconfig

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Defaults of the agent block.
const (
	DefaultInterval        = 10 * time.Second
	DefaultDataDir         = "/var/lib/vigil"
	DefaultFlushInterval   = time.Second
	DefaultBatchSize       = 10000
	DefaultShutdownTimeout = 10 * time.Second
)

// Agent is the agent block.
type Agent struct {
	// Node names this machine in every point (tag "node"); default: the
	// hostname.
	Node string
	// Tags are added to every point.
	Tags map[string]string
	// Interval is the default collection and check interval.
	Interval time.Duration
	// Jitter is the largest random delay added to each tick; 0 means
	// "auto", a tenth of the interval.
	Jitter time.Duration
	// PluginDir holds installed plugins; default <DataDir>/plugins.
	PluginDir string
	// DataDir holds the spool, promise state and the local API socket.
	DataDir         string
	FlushInterval   time.Duration // batches are sent at least this often
	BatchSize       int           // points per batch, at most
	ShutdownTimeout time.Duration // how long a shutdown may drain
	// PluginAutoMTLS secures each plugin's gRPC connection with mutual
	// TLS, certificates made per launch (default true).
	PluginAutoMTLS bool
	// InternalMetrics emits the agent's own health (vigil_plugin,
	// vigil_task, vigil_output) every interval (default true).
	InternalMetrics bool
	DeclRange       hcl.Range // the block header; empty without an agent block
}

// reservedTags are set by the agent on every point.
var reservedTags = []string{"node", "plugin", "promise"}

var agentSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "node"}, {Name: "tags"}, {Name: "interval"}, {Name: "jitter"},
		{Name: "plugin_dir"}, {Name: "data_dir"}, {Name: "flush_interval"},
		{Name: "batch_size"}, {Name: "shutdown_timeout"}, {Name: "plugin_auto_mtls"},
		{Name: "internal_metrics"},
	},
}

// decodeAgent decodes the agent block, which may be nil, applying defaults.
func decodeAgent(b *hcl.Block, base string, diags *hcl.Diagnostics) Agent {
	a := Agent{
		Tags:            map[string]string{},
		Interval:        DefaultInterval,
		DataDir:         DefaultDataDir,
		FlushInterval:   DefaultFlushInterval,
		BatchSize:       DefaultBatchSize,
		ShutdownTimeout: DefaultShutdownTimeout,
		PluginAutoMTLS:  true,
		InternalMetrics: true,
	}
	var attrs hcl.Attributes
	if b != nil {
		a.DeclRange = b.DefRange
		content, d := b.Body.Content(agentSchema)
		*diags = append(*diags, d...)
		attrs = content.Attributes
	}
	r := reader{attrs: attrs, diags: diags}
	if !r.str("node", &a.Node) {
		a.Node = hostname(b, diags)
	} else if strings.TrimSpace(a.Node) == "" {
		r.errorAt(attrs["node"], attrs["node"].Expr.Range(), "Empty node name",
			"The node name identifies this machine in every point and alert; set it, or remove the argument to use the hostname.")
	}
	r.stringMap("tags", &a.Tags)
	if t, ok := attrs["tags"]; ok {
		checkTags(a.Tags, t, r)
	}
	r.duration("interval", &a.Interval)
	if r.duration("jitter", &a.Jitter) && a.Jitter >= a.Interval {
		*diags = append(*diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Jitter not shorter than interval",
			Detail:   fmt.Sprintf("A jitter of %s with an interval of %s can push a tick past the next one; use a jitter well below the interval, or remove it for the default (a tenth of the interval).", a.Jitter, a.Interval),
			Subject:  attrs["jitter"].Expr.Range().Ptr(),
		})
	}
	r.path("data_dir", base, &a.DataDir)
	a.PluginDir = filepath.Join(a.DataDir, "plugins")
	r.path("plugin_dir", base, &a.PluginDir)
	r.duration("flush_interval", &a.FlushInterval)
	r.positiveInt("batch_size", &a.BatchSize)
	r.duration("shutdown_timeout", &a.ShutdownTimeout)
	r.boolean("plugin_auto_mtls", &a.PluginAutoMTLS)
	r.boolean("internal_metrics", &a.InternalMetrics)
	return a
}

// hostname is the default node name.
func hostname(b *hcl.Block, diags *hcl.Diagnostics) string {
	h, err := os.Hostname()
	if err == nil && h != "" {
		return h
	}
	var subject *hcl.Range
	if b != nil {
		subject = b.DefRange.Ptr()
	}
	*diags = append(*diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Cannot determine node name",
		Detail:   fmt.Sprintf("The hostname is unavailable (%v); set node = \"...\" in the agent block.", err),
		Subject:  subject,
	})
	return ""
}

// checkTags refuses empty keys and the tags the agent sets itself.
func checkTags(tags map[string]string, a *hcl.Attribute, r reader) {
	for k := range tags {
		switch {
		case k == "":
			r.errorAt(a, keyRange(a.Expr, k, a.Expr.Range()), "Empty tag key", "Tag keys cannot be empty; name the tag.")
		case slices.Contains(reservedTags, k):
			r.errorAt(a, keyRange(a.Expr, k, a.Expr.Range()), "Reserved tag",
				"The agent sets the tag %q on every point itself; choose another name, such as %q.", k, k+"_name")
		}
	}
}

// Registry is the registry block: where the registry output sends points
// and where plugins are installed from.
type Registry struct {
	URL   string
	Token string // agent token
	// SigningKeys are trusted publisher keys ("ed25519:..."); without them
	// a plugin's key is trusted on first use and recorded in the lock file.
	SigningKeys []string
	DeclRange   hcl.Range
}

var registrySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "url", Required: true}, {Name: "token"}, {Name: "signing_keys"},
	},
}

func decodeRegistry(b *hcl.Block, diags *hcl.Diagnostics) *Registry {
	reg := &Registry{DeclRange: b.DefRange}
	content, d := b.Body.Content(registrySchema)
	*diags = append(*diags, d...)
	r := reader{attrs: content.Attributes, diags: diags}
	if r.nonEmpty("url", &reg.URL) {
		u, err := url.Parse(reg.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			a := content.Attributes["url"]
			r.errorAt(a, a.Expr.Range(), "Invalid registry URL",
				"%q is not an http or https URL; write it as \"https://registry.example.net\".", reg.URL)
		}
	}
	r.str("token", &reg.Token)
	if r.strings("signing_keys", &reg.SigningKeys) {
		a := content.Attributes["signing_keys"]
		for i, k := range reg.SigningKeys {
			if rest, ok := strings.CutPrefix(k, "ed25519:"); !ok || rest == "" {
				r.errorAt(a, elemRange(a.Expr, i), "Invalid signing key",
					"%q is not a signing key; keys are written \"ed25519:<key>\", as shown by the registry for a publisher.", k)
			}
		}
	}
	return reg
}
