package agentconfig

import (
	"strconv"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// objectItem is one `key = value` of an object constructor expression.
type objectItem struct {
	key       string
	keyRange  hcl.Range
	valueExpr hcl.Expression
}

// unwrap strips parentheses around an expression.
func unwrap(expr hcl.Expression) hcl.Expression {
	for {
		p, ok := expr.(*hclsyntax.ParenthesesExpr)
		if !ok {
			return expr
		}
		expr = p.Expression
	}
}

// objectItems returns the items of expr when it is an object constructor
// (`{ a = 1 }`) whose keys are constant strings, in source order, and
// false otherwise.
func objectItems(expr hcl.Expression) ([]objectItem, bool) {
	if expr == nil {
		return nil, false
	}
	obj, ok := unwrap(expr).(*hclsyntax.ObjectConsExpr)
	if !ok {
		return nil, false
	}
	items := make([]objectItem, 0, len(obj.Items))
	for _, it := range obj.Items {
		k, diags := it.KeyExpr.Value(nil)
		if diags.HasErrors() || !k.IsWhollyKnown() || k.IsNull() {
			continue
		}
		k, err := convert.Convert(k, cty.String)
		if err != nil {
			continue
		}
		items = append(items, objectItem{key: k.AsString(), keyRange: it.KeyExpr.Range(), valueExpr: it.ValueExpr})
	}
	return items, true
}

// exprRange is expr's range, or fallback when there is no expression.
func exprRange(expr hcl.Expression, fallback hcl.Range) hcl.Range {
	if expr == nil {
		return fallback
	}
	return expr.Range()
}

// keyRange is the range of key's name in the object expression expr, or
// the range of expr itself (or fallback) when it cannot be found.
func keyRange(expr hcl.Expression, key string, fallback hcl.Range) hcl.Range {
	items, _ := objectItems(expr)
	for _, it := range items {
		if it.key == key {
			return it.keyRange
		}
	}
	return exprRange(expr, fallback)
}

// locate walks path (object keys and list indexes) down from expr and
// returns the range of the deepest expression it reaches and whether that
// is the whole path.
func locate(expr hcl.Expression, path []string, fallback hcl.Range) (hcl.Range, bool) {
	if expr == nil {
		return fallback, false
	}
	cur := expr
	for _, step := range path {
		next := nextExpr(cur, step)
		if next == nil {
			return cur.Range(), false
		}
		cur = next
	}
	return cur.Range(), true
}

// nextExpr is the sub-expression of expr named by step, or nil.
func nextExpr(expr hcl.Expression, step string) hcl.Expression {
	switch e := unwrap(expr).(type) {
	case *hclsyntax.ObjectConsExpr:
		items, _ := objectItems(e)
		for i := len(items) - 1; i >= 0; i-- { // the last duplicate wins, as in evaluation
			if items[i].key == step {
				return items[i].valueExpr
			}
		}
	case *hclsyntax.TupleConsExpr:
		n, err := strconv.Atoi(step)
		if err == nil && n >= 0 && n < len(e.Exprs) {
			return e.Exprs[n]
		}
	}
	return nil
}

// ctyPath turns a cty path (from a conversion error) into the string steps
// locate understands.
func ctyPath(p cty.Path) []string {
	out := make([]string, 0, len(p))
	for _, s := range p {
		switch s := s.(type) {
		case cty.GetAttrStep:
			out = append(out, s.Name)
		case cty.IndexStep:
			switch {
			case s.Key.IsNull() || !s.Key.IsKnown():
				return out
			case s.Key.Type() == cty.String:
				out = append(out, s.Key.AsString())
			case s.Key.Type() == cty.Number:
				bf := s.Key.AsBigFloat()
				out = append(out, bf.Text('f', 0))
			default:
				return out
			}
		}
	}
	return out
}
