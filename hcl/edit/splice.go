package edit

import (
	"bytes"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// splice returns the source with src[start:end] replaced by text.
func (d *Document) splice(start, end int, text string) []byte {
	out := make([]byte, 0, len(d.src)-(end-start)+len(text))
	out = append(out, d.src[:start]...)
	out = append(out, text...)
	return append(out, d.src[end:]...)
}

// lineStart is the offset of the start of the line holding pos.
func (d *Document) lineStart(pos int) int {
	return bytes.LastIndexByte(d.src[:pos], '\n') + 1
}

// lineIndent is the leading white space of the line holding pos.
func (d *Document) lineIndent(pos int) string {
	ls := d.lineStart(pos)
	i := ls
	for i < len(d.src) && (d.src[i] == ' ' || d.src[i] == '\t') {
		i++
	}
	return string(d.src[ls:i])
}

// afterLine returns the start of the next line when the rest of the line
// from pos holds only blanks, a comment and, with commas, a comma; false
// when something else follows on the line.
func (d *Document) afterLine(pos int, commas bool) (int, bool) {
	i := pos
	for i < len(d.src) {
		switch c := d.src[i]; {
		case c == ' ' || c == '\t' || c == '\r' || (commas && c == ','):
			i++
		case c == '\n':
			return i + 1, true
		case c == '#' || bytes.HasPrefix(d.src[i:], []byte("//")):
			nl := bytes.IndexByte(d.src[i:], '\n')
			if nl < 0 {
				return len(d.src), true
			}
			return i + nl + 1, true
		case bytes.HasPrefix(d.src[i:], []byte("/*")):
			e := bytes.Index(d.src[i:], []byte("*/"))
			if e < 0 || bytes.IndexByte(d.src[i:i+e], '\n') >= 0 {
				return 0, false
			}
			i += e + 2
		default:
			return 0, false
		}
	}
	return len(d.src), true
}

// insertAt inserts text as whole lines at p, the start of a line or the
// end of the source.
func (d *Document) insertAt(p int, text string) []byte {
	if p == len(d.src) && p > 0 && d.src[p-1] != '\n' {
		text = "\n" + text
	}
	return d.splice(p, p, text)
}

// insertItem adds text (an attribute or block, lines after the first
// indented for column 0) to body, owned by block owner (nil for the root).
// In a block it goes after the last item, so a trailing comment stays
// last; at the root, blocks go after the last block of type typ, or the
// last block, separated by a blank line.
func (d *Document) insertItem(body *hclsyntax.Body, owner *hclsyntax.Block, text, typ string) []byte {
	if owner == nil {
		var anchor *hclsyntax.Block
		for _, b := range body.Blocks {
			if b.Type == typ || anchor == nil || anchor.Type != typ {
				anchor = b
			}
		}
		if anchor == nil {
			if len(bytes.TrimSpace(d.src)) == 0 {
				return d.splice(0, len(d.src), text+"\n")
			}
			return d.insertAt(len(d.src), "\n"+text+"\n")
		}
		end := anchor.Range().End.Byte
		p, ok := d.afterLine(end, false)
		if !ok {
			return d.splice(end, end, "\n\n"+text+"\n")
		}
		ins := "\n" + text + "\n"
		if p < len(d.src) && d.src[p] != '\n' && d.src[p] != '\r' {
			ins += "\n"
		}
		return d.insertAt(p, ins)
	}
	open, closing := owner.OpenBraceRange, owner.CloseBraceRange
	ind := d.lineIndent(owner.Range().Start.Byte)
	if open.Start.Line == closing.Start.Line {
		// A single-line block holds at most one argument: open it up.
		in2 := ind + "  "
		var b strings.Builder
		b.WriteString("{\n")
		if inner := strings.TrimSpace(string(d.src[open.End.Byte:closing.Start.Byte])); inner != "" {
			b.WriteString(in2 + inner + "\n")
		}
		b.WriteString(in2 + indent(text, in2) + "\n" + ind + "}")
		return d.splice(open.Start.Byte, closing.End.Byte, b.String())
	}
	lastStart, lastEnd, eq := -1, -1, -1
	for _, a := range body.Attributes {
		if a.SrcRange.End.Byte > lastEnd {
			lastStart, lastEnd, eq = a.SrcRange.Start.Byte, a.SrcRange.End.Byte, a.EqualsRange.Start.Byte
		}
	}
	for _, b := range body.Blocks {
		if r := b.Range(); r.End.Byte > lastEnd {
			lastStart, lastEnd, eq = r.Start.Byte, r.End.Byte, -1
		}
	}
	if typ == "" && eq >= 0 {
		text = d.align(text, eq)
	}
	if lastEnd < 0 {
		in2 := ind + "  "
		if p, ok := d.afterLine(open.End.Byte, false); ok {
			return d.insertAt(p, in2+indent(text, in2)+"\n")
		}
		return d.splice(open.End.Byte, open.End.Byte, "\n"+in2+indent(text, in2))
	}
	in2 := d.lineIndent(lastStart)
	if p, ok := d.afterLine(lastEnd, false); ok {
		return d.insertAt(p, in2+indent(text, in2)+"\n")
	}
	return d.splice(lastEnd, lastEnd, "\n"+in2+indent(text, in2))
}

// insertInObject adds the item text (key = value) at the end of obj.
func (d *Document) insertInObject(obj *hclsyntax.ObjectConsExpr, text string) []byte {
	open := obj.OpenRange
	end := obj.SrcRange.End.Byte // just after "}"
	ind := d.lineIndent(open.Start.Byte)
	in2 := ind + "  "
	if open.Start.Line == obj.SrcRange.End.Line {
		if len(obj.Items) == 0 {
			return d.splice(open.Start.Byte, end, "{ "+indent(text, ind)+" }")
		}
		last := obj.Items[len(obj.Items)-1].ValueExpr.Range().End.Byte
		return d.splice(last, last, ", "+indent(text, ind))
	}
	if len(obj.Items) == 0 {
		if p, ok := d.afterLine(open.End.Byte, false); ok {
			return d.insertAt(p, in2+indent(text, in2)+"\n")
		}
		return d.splice(open.End.Byte, open.End.Byte, "\n"+in2+indent(text, in2))
	}
	last := obj.Items[len(obj.Items)-1]
	if key := last.KeyExpr.Range(); key.Start.Line != open.Start.Line {
		in2 = d.lineIndent(key.Start.Byte)
		if eq := bytes.IndexAny(d.src[key.End.Byte:], "=:"); eq >= 0 && d.lineStart(key.End.Byte+eq) == d.lineStart(key.Start.Byte) {
			text = d.align(text, key.End.Byte+eq)
		}
	}
	lastEnd := last.ValueExpr.Range().End.Byte
	if p, ok := d.afterLine(lastEnd, true); ok {
		return d.insertAt(p, in2+indent(text, in2)+"\n")
	}
	return d.splice(lastEnd, lastEnd, "\n"+in2+indent(text, in2))
}

// align pads the name starting text (`name = value`) so that its "="
// lines up with the one at offset eq on the line above, as hcl fmt aligns
// a group, when the name is short enough not to move its neighbours.
func (d *Document) align(text string, eq int) string {
	ls := d.lineStart(eq)
	name, rest, ok := strings.Cut(text, " = ")
	if !ok || strings.Contains(name, "\n") {
		return text
	}
	pad := eq - ls - len(d.lineIndent(eq)) - len(name)
	if pad < 1 {
		return text
	}
	return name + strings.Repeat(" ", pad) + "= " + rest
}

// remove deletes src[start:end], an attribute, block or object item. When
// it is alone on its lines, the lines go, with the comment lines directly
// above and one of two blank lines left around it; otherwise only the
// item (with an adjacent comma, in an object) goes.
func (d *Document) remove(start, end int, commas bool) []byte {
	ls := d.lineStart(start)
	alone := len(bytes.TrimSpace(d.src[ls:start])) == 0
	if le, ok := d.afterLine(end, commas); alone && ok {
		s := ls
		for s > 0 {
			prev := d.lineStart(s - 1)
			line := strings.TrimSpace(string(d.src[prev:s]))
			if !(strings.HasPrefix(line, "#") || strings.HasPrefix(line, "//") ||
				strings.HasPrefix(line, "/*") && strings.HasSuffix(line, "*/") && !strings.Contains(line[2:len(line)-2], "*/")) {
				break
			}
			s = prev
		}
		blankBefore := s == 0 || d.blankLine(d.lineStart(s-1))
		switch {
		case blankBefore && le < len(d.src) && d.blankLine(le):
			le = d.lineEnd(le)
		case blankBefore && le == len(d.src) && s > 0:
			s = d.lineStart(s - 1)
		}
		return d.splice(s, le, "")
	}
	s, e := start, end
	for s > ls && (d.src[s-1] == ' ' || d.src[s-1] == '\t') {
		s--
	}
	if commas {
		j := e
		for j < len(d.src) && (d.src[j] == ' ' || d.src[j] == '\t') {
			j++
		}
		if j < len(d.src) && d.src[j] == ',' {
			e = j + 1
			for e < len(d.src) && (d.src[e] == ' ' || d.src[e] == '\t') {
				e++
			}
			if s < start { // keep one space after what precedes
				s++
			}
		} else if s > ls && d.src[s-1] == ',' {
			s--
		}
	}
	return d.splice(s, e, "")
}

// blankLine says whether the line starting at p is empty or white space.
func (d *Document) blankLine(p int) bool {
	return len(bytes.TrimSpace(d.src[p:d.lineEnd(p)])) == 0
}

// lineEnd is the start of the line after the one starting at p.
func (d *Document) lineEnd(p int) int {
	if nl := bytes.IndexByte(d.src[p:], '\n'); nl >= 0 {
		return p + nl + 1
	}
	return len(d.src)
}
