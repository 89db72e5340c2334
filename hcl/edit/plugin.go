package edit

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// Plugin is the plugin block EnsurePlugin writes when the file has none.
type Plugin struct {
	Name    string
	Version string
	// Collect lists the collectors to run; nil leaves the argument out
	// (every collector runs).
	Collect []string
	// Config is the plugin-level config; empty leaves the argument out.
	Config map[string]any
	// Promises are nested promise blocks, written in this order after the
	// block's arguments, each after a blank line.
	Promises []Promise
}

// Promise is a promise block nested in a new plugin block.
type Promise struct {
	ID    string
	Check string
	// Config is the promise's config; empty leaves the argument out. A
	// nil value is written null: a key the operator must fill in (the
	// agent reports a required key left null as missing).
	Config map[string]any
	// Comment lines are written above the block, each after "# ".
	Comment []string
	// Disabled writes the block commented out, for the operator to
	// complete and uncomment; the file stays valid either way.
	Disabled bool
}

// EnsurePlugin adds p as a new plugin block after the last plugin block
// (or the last block), or, when a plugin block of that name exists, sets
// only its version: its collectors, config and promises are the
// operator's.
func (d *Document) EnsurePlugin(p Plugin) error {
	root := d.root()
	if b := findBlock(root, step{typ: "plugin", label: p.Name, labeled: true}); b != nil {
		if a, ok := b.Body.Attributes["version"]; ok {
			r := a.Expr.Range()
			return d.commit(d.splice(r.Start.Byte, r.End.Byte, render(cty.StringVal(p.Version))))
		}
		return d.commit(d.insertItem(b.Body, b, "version = "+render(cty.StringVal(p.Version)), ""))
	}
	text, err := pluginText(p)
	if err != nil {
		return err
	}
	return d.commit(d.insertItem(root, nil, text, "plugin"))
}

// PromiseIDs returns the ids of every promise block in the file, top-level
// and nested in plugin blocks, sorted: ids must be unique across the file.
func (d *Document) PromiseIDs() []string {
	var ids []string
	for _, b := range d.root().Blocks {
		switch {
		case b.Type == "promise" && len(b.Labels) == 1:
			ids = append(ids, b.Labels[0])
		case b.Type == "plugin":
			for _, nb := range b.Body.Blocks {
				if nb.Type == "promise" && len(nb.Labels) == 1 {
					ids = append(ids, nb.Labels[0])
				}
			}
		}
	}
	sort.Strings(ids)
	return ids
}

// pluginText renders p as a block at column 0, without a final newline.
func pluginText(p Plugin) (string, error) {
	f := hclwrite.NewEmptyFile()
	body := f.Body()
	body.SetAttributeValue("version", cty.StringVal(p.Version))
	if p.Collect != nil {
		vals := make([]cty.Value, len(p.Collect))
		for i, c := range p.Collect {
			vals[i] = cty.StringVal(c)
		}
		lv := cty.ListValEmpty(cty.String)
		if len(vals) > 0 {
			lv = cty.ListVal(vals)
		}
		body.SetAttributeValue("collect", lv)
	}
	if len(p.Config) > 0 {
		v, err := configValue(p.Config)
		if err != nil {
			return "", fmt.Errorf("encoding the config of plugin %q: %w", p.Name, err)
		}
		body.SetAttributeValue("config", v)
	}
	var b strings.Builder
	b.WriteString("plugin " + quoted(p.Name) + " {\n")
	b.WriteString(indentLines(string(f.Bytes()), "  "))
	for _, pr := range p.Promises {
		text, err := promiseText(pr)
		if err != nil {
			return "", fmt.Errorf("plugin %q: %w", p.Name, err)
		}
		b.WriteString("\n" + indentLines(text, "  "))
	}
	b.WriteString("}")
	return b.String(), nil
}

// promiseText renders pr at column 0, its comment lines first, ending with
// a newline; a disabled block is commented out line by line.
func promiseText(pr Promise) (string, error) {
	f := hclwrite.NewEmptyFile()
	body := f.Body().AppendNewBlock("promise", []string{pr.ID}).Body()
	body.SetAttributeValue("check", cty.StringVal(pr.Check))
	if len(pr.Config) > 0 {
		v, err := configValue(pr.Config)
		if err != nil {
			return "", fmt.Errorf("encoding the config of promise %q: %w", pr.ID, err)
		}
		body.SetAttributeValue("config", v)
	}
	var b strings.Builder
	for _, c := range pr.Comment {
		for line := range strings.SplitSeq(c, "\n") {
			b.WriteString(strings.TrimRight("# "+commentSafe(line), " ") + "\n")
		}
	}
	block := string(f.Bytes())
	if !pr.Disabled {
		b.WriteString(block)
		return b.String(), nil
	}
	for line := range strings.SplitSeq(strings.TrimSuffix(block, "\n"), "\n") {
		b.WriteString(strings.TrimRight("# "+line, " ") + "\n")
	}
	return b.String(), nil
}

// configValue turns a config object into a cty value; nil values become
// null.
func configValue(m map[string]any) (cty.Value, error) {
	vals := make(map[string]cty.Value, len(m))
	for k, x := range m {
		if x == nil {
			vals[k] = cty.NullVal(cty.DynamicPseudoType)
			continue
		}
		b, err := json.Marshal(x)
		if err != nil {
			return cty.NilVal, fmt.Errorf("%s: %w", k, err)
		}
		v, err := parseJSON(string(b))
		if err != nil {
			return cty.NilVal, fmt.Errorf("%s: %w", k, err)
		}
		vals[k] = v
	}
	return cty.ObjectVal(vals), nil
}

// commentSafe keeps text (which may come from a plugin's manifest) on its
// comment line: control characters become spaces.
func commentSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}

// quoted writes s as an HCL string literal.
func quoted(s string) string {
	return strings.TrimSpace(string(hclwrite.TokensForValue(cty.StringVal(s)).Bytes()))
}

// indentLines prefixes every non-empty line of s with ind.
func indentLines(s, ind string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) != "" {
			lines[i] = ind + l
		}
	}
	return strings.Join(lines, "")
}
