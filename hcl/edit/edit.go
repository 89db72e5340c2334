package edit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/vigilmon/vigil/hcl/agentconfig"
)

// ErrNotSet is returned (wrapped) by Get and Unset when the path names
// nothing in the file.
var ErrNotSet = errors.New("not set")

// InvalidResultError refuses an edit whose result agentconfig.Parse
// rejects; Files and Diags render the problems (agentconfig.WriteDiagnostics)
// and Result is the refused source.
type InvalidResultError struct {
	Files  map[string]*hcl.File
	Diags  hcl.Diagnostics
	Result []byte
}

func (e *InvalidResultError) Error() string {
	return "the edited configuration would not be valid: " + e.Diags.Error()
}

// Document is the source of one agent.hcl being edited. Each successful
// edit replaces its source; a refused edit leaves it unchanged.
type Document struct {
	filename string
	src      []byte
}

// Parse reads src, which must be syntactically valid HCL; filename names
// it in diagnostics.
func Parse(src []byte, filename string) (*Document, hcl.Diagnostics) {
	if _, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos); diags.HasErrors() {
		return nil, diags
	}
	return &Document{filename: filename, src: bytes.Clone(src)}, nil
}

// Bytes returns the current source.
func (d *Document) Bytes() []byte { return bytes.Clone(d.src) }

// Value is what Get returns.
type Value struct {
	// Source is the expression's source text, or the whole block's when
	// the path names a block.
	Source string
	// JSON is the value as JSON; nil for a block.
	JSON json.RawMessage
}

// Get returns the value at path; errors wrap ErrNotSet when it is absent.
func (d *Document) Get(path string) (Value, error) {
	t, err := parsePath(path)
	if err != nil {
		return Value{}, err
	}
	l := d.locate(t)
	if len(l.missing) > 0 || (t.attr != "" && l.attr == nil) {
		return Value{}, fmt.Errorf("%s: %w", path, ErrNotSet)
	}
	if t.attr == "" {
		r := l.owner.Range()
		return Value{Source: string(d.src[r.Start.Byte:r.End.Byte])}, nil
	}
	expr := hclsyntax.Expression(l.attr.Expr)
	for i, k := range t.keys {
		obj, ok := expr.(*hclsyntax.ObjectConsExpr)
		if !ok {
			return Value{}, fmt.Errorf("%s: %s is not an object written { ... }", path, strings.Join(append([]string{t.attr}, t.keys[:i]...), "."))
		}
		it := findItem(obj, k)
		if it == nil {
			return Value{}, fmt.Errorf("%s: %w", path, ErrNotSet)
		}
		expr = it.ValueExpr
	}
	r := expr.Range()
	val := Value{Source: string(d.src[r.Start.Byte:r.End.Byte])}
	if v, diags := expr.Value(nil); !diags.HasErrors() && v.IsWhollyKnown() {
		if b, err := ctyjson.Marshal(v, v.Type()); err == nil {
			val.JSON = b
		}
	}
	return val, nil
}

// Set sets the attribute or object key at path to value, text typed by
// agent.hcl's schema (see package doc), creating missing blocks and keys
// at the end of their parent, after its last item and before a trailing
// comment.
func (d *Document) Set(path, value string) error {
	t, err := parsePath(path)
	if err != nil {
		return err
	}
	if t.attr == "" {
		return fmt.Errorf("path %q names a block; set one of its attributes, such as %s.interval", path, path)
	}
	v, err := parseValue(t.leafKind(), value)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return d.setValue(t, v)
}

func (d *Document) setValue(t target, v cty.Value) error {
	l := d.locate(t)
	var out []byte
	switch {
	case len(l.missing) > 0:
		f := hclwrite.NewEmptyFile()
		body := f.Body()
		for _, st := range l.missing {
			var labels []string
			if st.labeled {
				labels = []string{st.label}
			}
			body = body.AppendNewBlock(st.typ, labels).Body()
		}
		body.SetAttributeValue(t.attr, nest(v, t.keys))
		out = d.insertItem(l.body, l.owner, strings.TrimSuffix(string(f.Bytes()), "\n"), l.missing[0].typ)
	case l.attr == nil:
		out = d.insertItem(l.body, l.owner, t.attr+" = "+render(nest(v, t.keys)), "")
	default:
		var err error
		if out, err = d.setInExpr(t, l.attr.Expr, t.keys, v); err != nil {
			return err
		}
	}
	return d.commit(out)
}

// setInExpr replaces the value at keys inside expr, or inserts the first
// missing key.
func (d *Document) setInExpr(t target, expr hclsyntax.Expression, keys []string, v cty.Value) ([]byte, error) {
	if len(keys) == 0 {
		r := expr.Range()
		return d.splice(r.Start.Byte, r.End.Byte, indent(render(v), d.lineIndent(r.Start.Byte))), nil
	}
	obj, ok := expr.(*hclsyntax.ObjectConsExpr)
	if !ok {
		return nil, fmt.Errorf("%s: the value holding %q is not an object written { ... }; set the whole value instead", t.path, keys[0])
	}
	if it := findItem(obj, keys[0]); it != nil {
		return d.setInExpr(t, it.ValueExpr, keys[1:], v)
	}
	return d.insertInObject(obj, renderKey(keys[0])+" = "+render(nest(v, keys[1:]))), nil
}

// Unset removes the attribute, object key or block at path, with the
// comment lines directly above it; errors wrap ErrNotSet when it is
// absent.
func (d *Document) Unset(path string) error {
	t, err := parsePath(path)
	if err != nil {
		return err
	}
	l := d.locate(t)
	notSet := fmt.Errorf("%s: %w", path, ErrNotSet)
	if len(l.missing) > 0 || (t.attr != "" && l.attr == nil) {
		return notSet
	}
	var out []byte
	switch {
	case t.attr == "":
		r := l.owner.Range()
		out = d.remove(r.Start.Byte, r.End.Byte, false)
	case len(t.keys) == 0:
		out = d.remove(l.attr.SrcRange.Start.Byte, l.attr.SrcRange.End.Byte, false)
	default:
		expr := hclsyntax.Expression(l.attr.Expr)
		var it *hclsyntax.ObjectConsItem
		for _, k := range t.keys {
			obj, ok := expr.(*hclsyntax.ObjectConsExpr)
			if !ok {
				return notSet
			}
			if it = findItem(obj, k); it == nil {
				return notSet
			}
			expr = it.ValueExpr
		}
		out = d.remove(it.KeyExpr.Range().Start.Byte, it.ValueExpr.Range().End.Byte, true)
	}
	return d.commit(out)
}

// commit accepts out as the new source if agentconfig decodes it.
func (d *Document) commit(out []byte) error {
	cfg, diags := agentconfig.Parse(out, d.filename)
	if diags.HasErrors() {
		return &InvalidResultError{Files: cfg.Files, Diags: diags, Result: out}
	}
	d.src = out
	return nil
}

func (d *Document) root() *hclsyntax.Body {
	f, _ := hclsyntax.ParseConfig(d.src, d.filename, hcl.InitialPos)
	return f.Body.(*hclsyntax.Body)
}

// located is where a target is in the file.
type located struct {
	body    *hclsyntax.Body  // the deepest body of the path found
	owner   *hclsyntax.Block // body's block; nil for the root body
	missing []step           // the blocks of the path not found, outermost first
	attr    *hclsyntax.Attribute
}

func (d *Document) locate(t target) located {
	body := d.root()
	var owner *hclsyntax.Block
	for i, st := range t.blocks {
		b := findBlock(body, st)
		if b == nil {
			return located{body: body, owner: owner, missing: t.blocks[i:]}
		}
		body, owner = b.Body, b
	}
	l := located{body: body, owner: owner}
	if t.attr != "" {
		l.attr = body.Attributes[t.attr]
	}
	return l
}

// findBlock returns the first block of body matching st.
func findBlock(body *hclsyntax.Body, st step) *hclsyntax.Block {
	for _, b := range body.Blocks {
		if b.Type != st.typ {
			continue
		}
		if !st.labeled && len(b.Labels) == 0 || st.labeled && len(b.Labels) == 1 && b.Labels[0] == st.label {
			return b
		}
	}
	return nil
}

// findItem returns the first item of obj whose key is key.
func findItem(obj *hclsyntax.ObjectConsExpr, key string) *hclsyntax.ObjectConsItem {
	for i, it := range obj.Items {
		v, diags := it.KeyExpr.Value(nil)
		if diags.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
			continue
		}
		if v.AsString() == key {
			return &obj.Items[i]
		}
	}
	return nil
}
