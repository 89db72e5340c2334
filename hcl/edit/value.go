package edit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// parseValue turns text from the command line into a value of kind k.
func parseValue(k kind, s string) (cty.Value, error) {
	switch k {
	case kindString:
		return cty.StringVal(s), nil
	case kindDuration:
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return cty.NilVal, fmt.Errorf("%q is not a duration; write a number followed by a unit (ms, s, m or h), such as 30s or 1h30m", s)
		}
		return cty.StringVal(s), nil
	case kindNumber:
		v, err := parseNumber(s)
		if err != nil {
			return cty.NilVal, fmt.Errorf("%q is not a number, such as 3", s)
		}
		return v, nil
	case kindBool:
		switch s {
		case "true":
			return cty.True, nil
		case "false":
			return cty.False, nil
		}
		return cty.NilVal, fmt.Errorf("%q is not true or false", s)
	case kindStringList:
		return parseStringList(s)
	case kindStringMap:
		v, err := parseJSON(s)
		if err != nil || !v.Type().IsObjectType() {
			return cty.NilVal, fmt.Errorf("%q is not a JSON object of strings, such as {\"site\": \"paris\"}", s)
		}
		for it := v.ElementIterator(); it.Next(); {
			if _, e := it.Element(); e.Type() != cty.String {
				return cty.NilVal, fmt.Errorf("%q is not a JSON object of strings, such as {\"site\": \"paris\"}", s)
			}
		}
		return v, nil
	case kindObject:
		v, err := parseJSON(s)
		if err != nil || !v.Type().IsObjectType() {
			return cty.NilVal, fmt.Errorf("%q is not a JSON object, such as {\"path\": \"/\"}", s)
		}
		return v, nil
	}
	return inferValue(s), nil
}

// inferValue types a value whose schema is unknown here: true and false
// are bools, numbers are numbers, JSON arrays and objects are taken as
// JSON, anything else is a string.
func inferValue(s string) cty.Value {
	switch s {
	case "true":
		return cty.True
	case "false":
		return cty.False
	}
	if v, err := parseNumber(s); err == nil {
		return v
	}
	if t := strings.TrimSpace(s); strings.HasPrefix(t, "[") || strings.HasPrefix(t, "{") {
		if v, err := parseJSON(t); err == nil {
			return v
		}
	}
	return cty.StringVal(s)
}

// parseNumber accepts decimal numbers as HCL writes them (no NaN, Inf or
// hex) within float64's range.
func parseNumber(s string) (cty.Value, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || strings.ContainsAny(s, "xXnN_") || strings.HasPrefix(s, "+") || strings.HasPrefix(s, ".") {
		return cty.NilVal, fmt.Errorf("not a number: %q", s)
	}
	_ = f
	return cty.ParseNumberVal(s)
}

// parseStringList reads a JSON array of strings or [a, b] with bare or
// quoted elements.
func parseStringList(s string) (cty.Value, error) {
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, "[") || !strings.HasSuffix(t, "]") {
		return cty.NilVal, fmt.Errorf("%q is not a list; write it as [a, b] or [\"a\", \"b\"]", s)
	}
	var list []string
	if err := json.Unmarshal([]byte(t), &list); err != nil {
		list = nil
		inner := strings.TrimSpace(t[1 : len(t)-1])
		if inner != "" {
			for e := range strings.SplitSeq(inner, ",") {
				e = strings.TrimSpace(e)
				if u, err := strconv.Unquote(e); err == nil {
					e = u
				}
				list = append(list, e)
			}
		}
	}
	if len(list) == 0 {
		return cty.ListValEmpty(cty.String), nil
	}
	vals := make([]cty.Value, len(list))
	for i, e := range list {
		vals[i] = cty.StringVal(e)
	}
	return cty.TupleVal(vals), nil
}

// parseJSON reads JSON into a cty value (objects, tuples, strings, numbers,
// bools; null is refused).
func parseJSON(s string) (cty.Value, error) {
	b := []byte(s)
	if !json.Valid(b) {
		return cty.NilVal, fmt.Errorf("invalid JSON")
	}
	ty, err := ctyjson.ImpliedType(b)
	if err != nil {
		return cty.NilVal, err
	}
	v, err := ctyjson.Unmarshal(b, ty)
	if err != nil {
		return cty.NilVal, err
	}
	if hasNull(v) {
		return cty.NilVal, fmt.Errorf("null is not allowed")
	}
	return v, nil
}

func hasNull(v cty.Value) bool {
	found := false
	_ = cty.Walk(v, func(_ cty.Path, x cty.Value) (bool, error) {
		if x.IsNull() {
			found = true
		}
		return !found, nil
	})
	return found
}

// nest wraps v in objects keyed by keys: nest(v, a, b) is { a = { b = v } }.
func nest(v cty.Value, keys []string) cty.Value {
	for i := len(keys) - 1; i >= 0; i-- {
		v = cty.ObjectVal(map[string]cty.Value{keys[i]: v})
	}
	return v
}

// render writes v as an HCL expression formatted by hclwrite; lines after
// the first are indented for column 0.
func render(v cty.Value) string {
	f := hclwrite.NewEmptyFile()
	f.Body().SetAttributeValue("x", v)
	out := string(f.Bytes())
	out = strings.TrimPrefix(out, "x = ")
	return strings.TrimSuffix(out, "\n")
}

// renderKey writes an object key: bare when it is an identifier.
func renderKey(k string) string {
	if hclsyntax.ValidIdentifier(k) {
		return k
	}
	return string(bytes.TrimSpace(hclwrite.TokensForValue(cty.StringVal(k)).Bytes()))
}

// indent prefixes every line of s but the first with ind.
func indent(s, ind string) string {
	return strings.ReplaceAll(s, "\n", "\n"+ind)
}
