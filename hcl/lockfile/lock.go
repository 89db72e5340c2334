package lockfile

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// Header opens a lock file the agent creates.
const Header = "# This file is maintained by vigil install. Manual edits may be lost.\n"

// Entry is what the lock records about one plugin.
type Entry struct {
	Name        string
	Version     string // exact, e.g. "1.2.0"
	Constraints string // the version constraint it was chosen by, if any
	Source      string // the registry URL, or SourceLocal
	SigningKey  string // the publisher key trusted on first use, "ed25519:..."
	// Platforms maps "<os>_<arch>" to the hashes of that platform's files.
	Platforms map[string]PlatformHashes
}

// PlatformHashes are "sha256:<hex>" hashes of one platform's files.
type PlatformHashes struct {
	Binary  string // the executable, verified before every exec
	Archive string // the downloaded archive; empty when unknown
}

func (e Entry) clone() Entry {
	e.Platforms = maps.Clone(e.Platforms)
	if e.Platforms == nil {
		e.Platforms = map[string]PlatformHashes{}
	}
	return e
}

// Lock is a lock file: its decoded entries and the syntax tree edits are
// made on. The zero value is not usable; use New, Load or Parse. A Lock is
// not safe for concurrent use.
type Lock struct {
	file    *hclwrite.File
	entries map[string]Entry
}

// New returns an empty lock holding only the header comment.
func New() *Lock {
	f, _ := hclwrite.ParseConfig([]byte(Header), "", hcl.InitialPos)
	return &Lock{file: f, entries: map[string]Entry{}}
}

// Load reads the lock file at path; a missing file is an empty lock. With
// syntax errors the Lock is nil; with other errors it holds the entries
// that are valid, and callers must check diags.HasErrors().
func Load(path string) (*Lock, hcl.Diagnostics) {
	src, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return New(), nil
	}
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read lock file",
			Detail:   fmt.Sprintf("Reading %s: %v. Check the file's permissions.", path, err),
		}}
	}
	return Parse(src, path)
}

var (
	rootSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "plugin", LabelNames: []string{"name"}}}}

	pluginSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{
			{Name: "version", Required: true}, {Name: "constraints"}, {Name: "source"}, {Name: "signing_key"},
		},
		Blocks: []hcl.BlockHeaderSchema{{Type: "platform", LabelNames: []string{"name"}}},
	}

	platformSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "binary", Required: true}, {Name: "archive"}},
	}
)

// Parse decodes lock file source; filename names it in diagnostics. It
// returns like Load.
func Parse(src []byte, filename string) (*Lock, hcl.Diagnostics) {
	file, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	wf, wdiags := hclwrite.ParseConfig(src, filename, hcl.InitialPos)
	if wdiags.HasErrors() {
		return nil, append(diags, wdiags...)
	}
	l := &Lock{file: wf, entries: map[string]Entry{}}
	content, d := file.Body.Content(rootSchema)
	diags = append(diags, d...)
	first := map[string]hcl.Range{}
	dec := decoder{src: src, diags: &diags}
	for _, b := range content.Blocks {
		e, ok := dec.entry(b)
		if prev, dup := first[e.Name]; dup {
			diags = append(diags, errorAt(b.LabelRanges[0], "Duplicate plugin",
				fmt.Sprintf("Plugin %q is already recorded on line %d; remove one block, or run vigil install again.", e.Name, prev.Start.Line)))
			delete(l.entries, e.Name)
			continue
		}
		first[e.Name] = b.DefRange
		if ok {
			l.entries[e.Name] = e
		}
	}
	return l, diags
}

func errorAt(rng hcl.Range, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: rng.Ptr()}
}

// decoder decodes the blocks of one file, appending problems to diags.
type decoder struct {
	src   []byte
	diags *hcl.Diagnostics
}

// entry decodes a plugin block; false means it has errors.
func (dec decoder) entry(b *hcl.Block) (Entry, bool) {
	diags := dec.diags
	str := dec.str
	start := len(*diags)
	e := Entry{Name: b.Labels[0], Platforms: map[string]PlatformHashes{}}
	check := func(rng hcl.Range, summary, problem string) {
		if problem != "" {
			*diags = append(*diags, errorAt(rng, summary, problem))
		}
	}
	check(b.LabelRanges[0], "Invalid plugin name", nameProblem(e.Name))
	content, d := b.Body.Content(pluginSchema)
	*diags = append(*diags, d...)
	attrs := content.Attributes
	if rng, ok := str(attrs, "version", &e.Version); ok {
		check(rng, "Invalid version", versionProblem(e.Version))
	}
	str(attrs, "constraints", &e.Constraints)
	if rng, ok := str(attrs, "source", &e.Source); ok {
		check(rng, "Invalid source", sourceProblem(e.Source))
	}
	if rng, ok := str(attrs, "signing_key", &e.SigningKey); ok {
		check(rng, "Invalid signing key", signingKeyProblem(e.SigningKey))
	}
	for _, pb := range content.Blocks {
		name := pb.Labels[0]
		check(pb.LabelRanges[0], "Invalid platform", platformProblem(name))
		if _, dup := e.Platforms[name]; dup {
			check(pb.LabelRanges[0], "Duplicate platform", fmt.Sprintf("Platform %q is already recorded for plugin %q; remove one block.", name, e.Name))
		}
		pc, d := pb.Body.Content(platformSchema)
		*diags = append(*diags, d...)
		var h PlatformHashes
		if rng, ok := str(pc.Attributes, "binary", &h.Binary); ok {
			check(rng, "Invalid hash", hashProblem(h.Binary))
		}
		if rng, ok := str(pc.Attributes, "archive", &h.Archive); ok {
			check(rng, "Invalid hash", hashProblem(h.Archive))
		}
		e.Platforms[name] = h
	}
	return e, len(*diags) == start
}

// str reads a non-empty quoted string attribute. The lock holds nothing
// else, so anything but a quoted string (heredocs and interpolation
// included) is refused without being evaluated.
func (dec decoder) str(attrs hcl.Attributes, name string, dst *string) (hcl.Range, bool) {
	a, ok := attrs[name]
	if !ok {
		return hcl.Range{}, false
	}
	rng := a.Expr.Range()
	t, ok := a.Expr.(*hclsyntax.TemplateExpr)
	quoted := rng.Start.Byte < len(dec.src) && dec.src[rng.Start.Byte] == '"'
	if ok && quoted && t.IsStringLiteral() {
		if v, d := t.Value(nil); !d.HasErrors() {
			if v.AsString() == "" {
				*dec.diags = append(*dec.diags, errorAt(rng, "Empty value",
					fmt.Sprintf("%q cannot be empty; remove the argument or run vigil install again.", name)))
				return rng, false
			}
			*dst = v.AsString()
			return rng, true
		}
	}
	*dec.diags = append(*dec.diags, errorAt(rng, "Invalid value",
		fmt.Sprintf("%q must be a quoted string, such as %s = \"...\".", name, name)))
	return rng, false
}

// Plugin returns a copy of the entry for name.
func (l *Lock) Plugin(name string) (*Entry, bool) {
	e, ok := l.entries[name]
	if !ok {
		return nil, false
	}
	c := e.clone()
	return &c, true
}

// Names returns the locked plugins' names, sorted.
func (l *Lock) Names() []string { return sortedKeys(l.entries) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
