package lockfile

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// Set records e, replacing what was recorded for e.Name: an existing block
// is edited in place (its comments and unknown content stay), a new one is
// appended. Platforms absent from e are removed. Set does not validate e;
// Save does.
func (l *Lock) Set(e Entry) {
	e = e.clone()
	body := l.file.Body()
	block := body.FirstMatchingBlock("plugin", []string{e.Name})
	if block == nil {
		separate(l.file)
		block = body.AppendNewBlock("plugin", []string{e.Name})
	} else if l.insertAttributes(block, e) {
		block = l.file.Body().FirstMatchingBlock("plugin", []string{e.Name})
	}
	writeEntry(block.Body(), e)
	l.entries[e.Name] = e
}

// Remove deletes the entry for name, and its block with the comments that
// lead it; false means there was none.
func (l *Lock) Remove(name string) bool {
	_, had := l.entries[name]
	delete(l.entries, name)
	body := l.file.Body()
	for {
		b := body.FirstMatchingBlock("plugin", []string{name})
		if b == nil {
			return had
		}
		body.RemoveBlock(b)
		had = true
	}
}

// separate ends f with a blank line, so an appended block stands apart
// from what precedes it (a trailing comment, say).
func separate(f *hclwrite.File) {
	src := f.Bytes()
	if len(src) == 0 {
		return
	}
	switch {
	case bytes.HasSuffix(src, []byte("\n\n")):
	case bytes.HasSuffix(src, []byte("\n")):
		f.Body().AppendNewline()
	default:
		f.Body().AppendNewline()
		f.Body().AppendNewline()
	}
}

type attr struct{ name, val string }

func entryAttrs(e Entry) []attr {
	return []attr{{"version", e.Version}, {"constraints", e.Constraints}, {"source", e.Source}, {"signing_key", e.SigningKey}}
}

// insertAttributes adds the attributes of e that block lacks right after
// its last attribute, so they stay above its platform blocks (hclwrite
// would append them after the blocks). It edits the file's tokens and
// parses them again, so block is stale when it returns true.
func (l *Lock) insertAttributes(block *hclwrite.Block, e Entry) bool {
	body := block.Body()
	if len(body.Blocks()) == 0 {
		return false
	}
	scratch := hclwrite.NewEmptyFile()
	for _, a := range entryAttrs(e) {
		if a.val != "" && body.GetAttribute(a.name) == nil {
			scratch.Body().SetAttributeValue(a.name, cty.StringVal(a.val))
		}
	}
	ins := scratch.BuildTokens(nil)
	if len(ins) == 0 {
		return false
	}
	// The anchor is the last token of the last attribute in source order,
	// or the newline after the opening brace when there is none.
	bt := block.BuildTokens(nil)
	pos := map[*hclwrite.Token]int{}
	for i, t := range bt {
		pos[t] = i
	}
	var anchor *hclwrite.Token
	for _, a := range body.Attributes() {
		ts := a.BuildTokens(nil)
		if last := ts[len(ts)-1]; anchor == nil || pos[last] > pos[anchor] {
			anchor = last
		}
	}
	if anchor == nil {
		for i, t := range bt {
			if t.Type == hclsyntax.TokenOBrace && i+1 < len(bt) && bt[i+1].Type == hclsyntax.TokenNewline {
				anchor = bt[i+1]
				break
			}
		}
		ins = append(ins, &hclwrite.Token{Type: hclsyntax.TokenNewline, Bytes: []byte("\n")})
	}
	all := l.file.BuildTokens(nil)
	for i, t := range all {
		if t != anchor {
			continue
		}
		out := append(append(append(hclwrite.Tokens{}, all[:i+1]...), ins...), all[i+1:]...)
		f, diags := hclwrite.ParseConfig(out.Bytes(), "", hcl.InitialPos)
		if diags.HasErrors() {
			return false
		}
		l.file = f
		return true
	}
	return false
}

// writeEntry writes e's attributes and platform blocks into b.
func writeEntry(b *hclwrite.Body, e Entry) {
	for _, a := range entryAttrs(e) {
		setString(b, a.name, a.val)
	}

	have := map[string]*hclwrite.Block{}
	for _, blk := range b.Blocks() {
		if blk.Type() != "platform" || len(blk.Labels()) != 1 {
			continue
		}
		name := blk.Labels()[0]
		if _, keep := e.Platforms[name]; !keep || have[name] != nil {
			b.RemoveBlock(blk)
			continue
		}
		have[name] = blk
	}
	for _, p := range sortedKeys(e.Platforms) {
		blk := have[p]
		if blk == nil {
			if len(b.Blocks()) == 0 {
				b.AppendNewline()
			}
			blk = b.AppendNewBlock("platform", []string{p})
		}
		h := e.Platforms[p]
		setString(blk.Body(), "binary", h.Binary)
		setString(blk.Body(), "archive", h.Archive)
	}
}

// setString sets a string attribute, or removes it when val is empty.
func setString(b *hclwrite.Body, name, val string) {
	if val == "" {
		b.RemoveAttribute(name)
		return
	}
	b.SetAttributeValue(name, cty.StringVal(val))
}

// Bytes returns the lock file's source: the parsed file with the edits
// made, formatted, runs of blank lines left by removals collapsed to one.
func (l *Lock) Bytes() []byte {
	out := hclwrite.Format(collapseBlankLines(l.file.BuildTokens(nil)).Bytes())
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	return out
}

// collapseBlankLines drops newline tokens that would make a second blank
// line in a row. Newlines inside strings are not newline tokens, and a
// line comment carries its own newline.
func collapseBlankLines(ts hclwrite.Tokens) hclwrite.Tokens {
	out := make(hclwrite.Tokens, 0, len(ts))
	run := 0 // line ends in a row
	for _, t := range ts {
		switch {
		case t.Type == hclsyntax.TokenNewline:
			run++
			if run > 2 {
				continue
			}
		case t.Type == hclsyntax.TokenComment && bytes.HasSuffix(t.Bytes, []byte("\n")):
			run = 1
		default:
			run = 0
		}
		out = append(out, t)
	}
	return out
}

// Save validates every entry and writes the lock file to path atomically:
// a temporary file in the same directory, synced, then renamed over path.
func (l *Lock) Save(path string) error {
	for _, name := range l.Names() {
		if err := l.entries[name].Validate(); err != nil {
			return fmt.Errorf("saving %s: %w", path, err)
		}
	}
	if err := writeAtomic(path, l.Bytes()); err != nil {
		return fmt.Errorf("saving %s: %w", path, err)
	}
	return nil
}

func writeAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Chmod(mode); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	// Make the rename itself durable.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
