package agentconfig

import (
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// DefaultTimeout bounds one Collect or Check call of a plugin.
const DefaultTimeout = 10 * time.Second

// semverRe is the SDK's notion of a plugin version.
var semverRe = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

// Plugin is a plugin block: one installed plugin, the collectors it runs
// and the promises it checks.
type Plugin struct {
	Name    string
	Version string
	// Collect names the collectors to run. It is nil when the argument is
	// absent, meaning every collector the plugin declares; an empty list
	// runs none (a plugin used for its promises only).
	Collect  []string
	Interval time.Duration // default: the agent's interval
	Timeout  time.Duration // default: DefaultTimeout
	// Config is the plugin-level configuration shared by its collectors,
	// an object (cty.EmptyObjectVal when absent); check it with
	// PluginConfig once the plugin's schemas are known.
	Config     cty.Value
	ConfigExpr hcl.Expression // nil when absent
	Promises   []PluginPromise
	// Collectors holds per-collector overrides of interval and timeout,
	// from nested collector blocks.
	Collectors []CollectorOverride
	DeclRange  hcl.Range
}

// CollectorOverride is a collector block nested in a plugin block: one
// collector's own interval and timeout.
type CollectorOverride struct {
	Name      string
	Interval  time.Duration // default: the plugin's interval
	Timeout   time.Duration // default: the plugin's timeout
	DeclRange hcl.Range
}

// CollectorTiming returns the interval and timeout of collector name.
func (p Plugin) CollectorTiming(name string) (interval, timeout time.Duration) {
	for _, c := range p.Collectors {
		if c.Name == name {
			return c.Interval, c.Timeout
		}
	}
	return p.Interval, p.Timeout
}

// PluginPromise is a promise block nested in a plugin block: a check
// implemented by the plugin.
type PluginPromise struct {
	ID         string
	Check      string    // the plugin's promise method, e.g. "disk_free"
	Config     cty.Value // checked with MethodConfig against the method's schema
	ConfigExpr hcl.Expression
	Interval   time.Duration // default: the plugin's interval
	Timeout    time.Duration // default: the plugin's timeout
	Anomaly    *Anomaly      // never nil after Parse: defaults apply
	Bang       []string      // command run once when an anomaly opens; nil for none
	DeclRange  hcl.Range
}

var pluginSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "version", Required: true}, {Name: "collect"}, {Name: "interval"},
		{Name: "timeout"}, {Name: "config"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "promise", LabelNames: []string{"id"}},
		{Type: "collector", LabelNames: []string{"name"}},
	},
}

var collectorSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "interval"}, {Name: "timeout"}},
}

var pluginPromiseSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "check", Required: true}, {Name: "config"}, {Name: "interval"},
		{Name: "timeout"}, {Name: "bang"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "anomaly"}},
}

func decodePlugin(b *hcl.Block, agent *Agent, ids promiseIDs, diags *hcl.Diagnostics) Plugin {
	p := Plugin{
		Name:      b.Labels[0],
		Interval:  agent.Interval,
		Timeout:   DefaultTimeout,
		Config:    cty.EmptyObjectVal,
		DeclRange: b.DefRange,
	}
	checkName(diags, "plugin", p.Name, b.LabelRanges[0])
	content, d := b.Body.Content(pluginSchema)
	*diags = append(*diags, d...)
	r := reader{attrs: content.Attributes, diags: diags}
	if r.nonEmpty("version", &p.Version) && !semverRe.MatchString(p.Version) {
		a := content.Attributes["version"]
		r.errorAt(a, a.Expr.Range(), "Invalid plugin version",
			"%q is not an exact version; write the installed version, such as \"1.2.0\" (see vigil.lock.hcl).", p.Version)
	}
	if r.strings("collect", &p.Collect) {
		checkCollect(p.Collect, content.Attributes["collect"], r)
	}
	intervalOK := r.duration("interval", &p.Interval)
	timeoutOK := r.duration("timeout", &p.Timeout)
	warnTimeout(diags, content.Attributes, p.Timeout, p.Interval, timeoutOK, intervalOK)
	p.Config, p.ConfigExpr = r.object("config")
	seen := map[string]hcl.Range{}
	for _, pb := range content.Blocks {
		if pb.Type == "collector" {
			if c, ok := decodeCollector(pb, &p, seen, diags); ok {
				p.Collectors = append(p.Collectors, c)
			}
			continue
		}
		pp, ok := decodePluginPromise(pb, &p, ids, diags)
		if ok {
			p.Promises = append(p.Promises, pp)
		}
	}
	return p
}

// decodeCollector decodes a nested collector block; false means it was a
// duplicate or names a collector the plugin block does not run.
func decodeCollector(b *hcl.Block, p *Plugin, seen map[string]hcl.Range, diags *hcl.Diagnostics) (CollectorOverride, bool) {
	c := CollectorOverride{Name: b.Labels[0], Interval: p.Interval, Timeout: p.Timeout, DeclRange: b.DefRange}
	ok := checkName(diags, "collector", c.Name, b.LabelRanges[0])
	if first, dup := seen[c.Name]; dup {
		*diags = append(*diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate collector block",
			Detail:  fmt.Sprintf("A collector %q block is already declared on %s; merge the two into one.", c.Name, lineOf(first)),
			Subject: b.LabelRanges[0].Ptr()})
		ok = false
	}
	seen[c.Name] = b.DefRange
	if ok && p.Collect != nil && !slices.Contains(p.Collect, c.Name) {
		*diags = append(*diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Collector not enabled",
			Detail:  fmt.Sprintf("This block sets the timing of collector %q, but the plugin's collect list does not run it. Add %q to collect, or remove this block.", c.Name, c.Name),
			Subject: b.LabelRanges[0].Ptr()})
		ok = false
	}
	content, d := b.Body.Content(collectorSchema)
	*diags = append(*diags, d...)
	r := reader{attrs: content.Attributes, diags: diags}
	intervalOK := r.duration("interval", &c.Interval)
	timeoutOK := r.duration("timeout", &c.Timeout)
	if _, set := content.Attributes["timeout"]; !set && c.Timeout > c.Interval {
		// A faster collector than its plugin inherits a timeout that fits.
		c.Timeout = c.Interval
	}
	warnTimeout(diags, content.Attributes, c.Timeout, c.Interval, timeoutOK, intervalOK)
	return c, ok
}

// checkCollect requires valid, distinct collector names.
func checkCollect(names []string, a *hcl.Attribute, r reader) {
	seen := map[string]int{}
	for i, n := range names {
		if !nameRe.MatchString(n) {
			r.errorAt(a, elemRange(a.Expr, i), "Invalid collector name",
				"%q is not a collector name: use lowercase letters, digits, \"_\" and \"-\", starting with a letter. `vigil plugins` lists the collectors of installed plugins.", n)
			continue
		}
		if first, dup := seen[n]; dup {
			r.errorAt(a, elemRange(a.Expr, i), "Duplicate collector",
				"%q is already listed (element %d); remove one.", n, first+1)
			continue
		}
		seen[n] = i
	}
}

// decodePluginPromise decodes a nested promise block; false means its id
// was invalid or taken, and it is left out.
func decodePluginPromise(b *hcl.Block, p *Plugin, ids promiseIDs, diags *hcl.Diagnostics) (PluginPromise, bool) {
	pp := PluginPromise{
		ID:        b.Labels[0],
		Config:    cty.EmptyObjectVal,
		Interval:  p.Interval,
		Timeout:   p.Timeout,
		DeclRange: b.DefRange,
	}
	ok := ids.claim(diags, b)
	content, d := b.Body.Content(pluginPromiseSchema)
	*diags = append(*diags, d...)
	r := reader{attrs: content.Attributes, diags: diags}
	if r.nonEmpty("check", &pp.Check) {
		a := content.Attributes["check"]
		checkName(diags, "promise check", pp.Check, a.Expr.Range())
	}
	pp.Config, pp.ConfigExpr = r.object("config")
	intervalOK := r.duration("interval", &pp.Interval)
	timeoutOK := r.duration("timeout", &pp.Timeout)
	warnTimeout(diags, content.Attributes, pp.Timeout, pp.Interval, timeoutOK, intervalOK)
	r.command("bang", bangExample, &pp.Bang)
	pp.Anomaly = decodeAnomaly(content.Blocks, diags)
	return pp, ok
}

// checkDuplicateBlocks reports every block of blocks after the first.
func checkDuplicateBlocks(diags *hcl.Diagnostics, blocks hcl.Blocks, what string) {
	for _, b := range blocks[min(1, len(blocks)):] {
		*diags = append(*diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("Duplicate %s block", what),
			Detail:   fmt.Sprintf("A %s block is already declared on %s; merge the two into one.", what, lineOf(blocks[0].DefRange)),
			Subject:  b.DefRange.Ptr(),
		})
	}
}
