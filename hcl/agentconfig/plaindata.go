package agentconfig

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// plainData checks, before anything is evaluated, that the file holds
// plain values: literals, strings, lists, objects, negation and
// parentheses. Operators, conditionals, for expressions, splats and
// interpolation are refused, and so are number literals beyond float64's
// range: turning 1e99999999 into a string takes minutes. Bare variable and
// function references are left for hcl to report.
func plainData(body hclsyntax.Node) hcl.Diagnostics {
	w := &plainWalker{}
	hclsyntax.Walk(body, w)
	return w.diags
}

type plainWalker struct {
	diags   hcl.Diagnostics
	refused int // depth inside a refused expression, whose parts are not reported again
}

func (w *plainWalker) Enter(n hclsyntax.Node) hcl.Diagnostics {
	if w.refused > 0 {
		w.refused++
		return nil
	}
	switch n := n.(type) {
	case *hclsyntax.Body, hclsyntax.Attributes, *hclsyntax.Attribute, hclsyntax.Blocks, *hclsyntax.Block,
		hclsyntax.ChildScope, *hclsyntax.TupleConsExpr, *hclsyntax.ObjectConsExpr, *hclsyntax.ObjectConsKeyExpr,
		*hclsyntax.ParenthesesExpr, *hclsyntax.UnaryOpExpr,
		*hclsyntax.ScopeTraversalExpr, *hclsyntax.FunctionCallExpr:
		return nil
	case *hclsyntax.TemplateExpr:
		if literalTemplate(n) {
			return nil
		}
	case *hclsyntax.LiteralValueExpr:
		if _, huge := hugeNumber(n.Val); huge {
			w.diags = append(w.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Number out of range",
				Detail:   "This number is too large (or too small) to use; write one within ±1e300.",
				Subject:  n.SrcRange.Ptr(),
			})
		}
		return nil
	}
	w.refused = 1
	w.diags = append(w.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Unsupported expression",
		Detail:   "This file holds plain values: strings, numbers, bools, lists and objects. Write the value itself, such as \"5m\" or 300, without operators, conditionals or interpolation.",
		Subject:  n.Range().Ptr(),
	})
	return nil
}

// literalTemplate reports whether t is a plain string: no interpolation or
// directive.
func literalTemplate(t *hclsyntax.TemplateExpr) bool {
	for _, p := range t.Parts {
		lit, ok := p.(*hclsyntax.LiteralValueExpr)
		if !ok || lit.Val.Type() != cty.String {
			return false
		}
	}
	return true
}

func (w *plainWalker) Exit(hclsyntax.Node) hcl.Diagnostics {
	if w.refused > 0 {
		w.refused--
	}
	return nil
}
