package agentconfig

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Config is a decoded agent.hcl with every default applied.
type Config struct {
	// Filename is the file the configuration was read from.
	Filename string
	// Files holds the parsed source by file name, for rendering
	// diagnostics with snippets (WriteDiagnostics).
	Files    map[string]*hcl.File
	Agent    Agent
	Registry *Registry // nil without a registry block
	Plugins  []Plugin
	Promises []ExecPromise // top-level executable promises
	// Outputs is never empty: without output blocks it holds a registry
	// output when a registry block exists, a stdout output otherwise.
	Outputs []Output
}

var rootSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "agent"},
		{Type: "registry"},
		{Type: "plugin", LabelNames: []string{"name"}},
		{Type: "promise", LabelNames: []string{"id"}},
		{Type: "output", LabelNames: []string{"kind"}},
	},
}

// Load reads and decodes the configuration file at path. It always returns
// a Config (partial when there are errors) so that Files can render the
// diagnostics; callers must check diags.HasErrors().
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

// Parse decodes configuration source; filename names it in diagnostics
// and its directory anchors relative paths. Like Load, it always returns a
// Config.
func Parse(src []byte, filename string) (*Config, hcl.Diagnostics) {
	cfg := &Config{Filename: filename, Files: map[string]*hcl.File{}}
	file, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if file != nil {
		cfg.Files[filename] = file
	}
	if diags.HasErrors() || file == nil {
		return cfg, diags
	}
	if body, ok := file.Body.(*hclsyntax.Body); ok {
		if diags = append(diags, plainData(body)...); diags.HasErrors() {
			sortDiagnostics(diags)
			return cfg, diags
		}
	}
	base := filepath.Dir(filename)
	if abs, err := filepath.Abs(base); err == nil {
		base = abs
	}

	content, cdiags := file.Body.Content(rootSchema)
	diags = append(diags, cdiags...)
	blocks := map[string][]*hcl.Block{}
	for _, b := range content.Blocks {
		blocks[b.Type] = append(blocks[b.Type], b)
	}
	checkDuplicateBlocks(&diags, blocks["agent"], "agent")
	checkDuplicateBlocks(&diags, blocks["registry"], "registry")

	var agentBlock *hcl.Block
	if len(blocks["agent"]) > 0 {
		agentBlock = blocks["agent"][0]
	}
	cfg.Agent = decodeAgent(agentBlock, base, &diags)
	if len(blocks["registry"]) > 0 {
		cfg.Registry = decodeRegistry(blocks["registry"][0], &diags)
	}
	ids := promiseIDs{}
	names := map[string]hcl.Range{}
	for _, b := range blocks["plugin"] {
		p := decodePlugin(b, &cfg.Agent, ids, &diags)
		if first, dup := names[p.Name]; dup {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate plugin block",
				Detail:   fmt.Sprintf("Plugin %q is already configured on %s; merge the two blocks.", p.Name, lineOf(first)),
				Subject:  b.DefRange.Ptr(),
			})
			continue
		}
		names[p.Name] = b.DefRange
		cfg.Plugins = append(cfg.Plugins, p)
	}
	for _, b := range blocks["promise"] {
		cfg.Promises = append(cfg.Promises, decodeExecPromise(b, &cfg.Agent, base, ids, &diags))
	}
	cfg.Outputs = decodeOutputs(blocks["output"], cfg.Registry, base, &diags)
	sortDiagnostics(diags)
	return cfg, diags
}

// sortDiagnostics orders diags as they appear in the file; diagnostics
// without a subject come first.
func sortDiagnostics(diags hcl.Diagnostics) {
	sort.SliceStable(diags, func(i, j int) bool {
		a, b := diags[i].Subject, diags[j].Subject
		switch {
		case a == nil || b == nil:
			return a == nil && b != nil
		case a.Filename != b.Filename:
			return a.Filename < b.Filename
		}
		return a.Start.Byte < b.Start.Byte
	})
}

// promiseIDs remembers where each promise id was declared: ids are unique
// across plugin and executable promises, since they name the promise in
// points, alerts and state files.
type promiseIDs map[string]hcl.Range

func (ids promiseIDs) claim(diags *hcl.Diagnostics, b *hcl.Block) bool {
	id, rng := b.Labels[0], b.LabelRanges[0]
	if !idRe.MatchString(id) {
		*diags = append(*diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid promise id",
			Detail:   fmt.Sprintf("%q is not a valid promise id: use letters, digits, \".\", \"_\" and \"-\", starting with a letter or digit.", id),
			Subject:  rng.Ptr(),
		})
		return false
	}
	if first, dup := ids[id]; dup {
		*diags = append(*diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Duplicate promise",
			Detail:   fmt.Sprintf("A promise with id %q is already declared on %s; promise ids must be unique across all plugins and executable promises. Rename one.", id, lineOf(first)),
			Subject:  rng.Ptr(),
		})
		return false
	}
	ids[id] = b.DefRange
	return true
}
