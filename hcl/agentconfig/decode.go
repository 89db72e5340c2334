package agentconfig

import (
	"fmt"
	"math/big"
	"path/filepath"
	"regexp"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// nameRe is what the SDK accepts as a plugin, collector or promise check name.
var nameRe = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// reader decodes the attributes of one block, appending every problem to
// diags. Each getter leaves dst untouched and returns false when the
// attribute is absent, null or invalid, so defaults set beforehand survive.
type reader struct {
	attrs hcl.Attributes
	diags *hcl.Diagnostics
}

func (r reader) add(d *hcl.Diagnostic) { *r.diags = append(*r.diags, d) }

// errorAt reports an error about attribute a's value.
func (r reader) errorAt(a *hcl.Attribute, subject hcl.Range, summary, detailFormat string, args ...any) {
	r.add(&hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(detailFormat, args...),
		Subject:  subject.Ptr(),
		Context:  a.Range.Ptr(),
	})
}

// value evaluates attribute name and converts it to ty; example shows the
// expected shape in the diagnostic's detail.
func (r reader) value(name string, ty cty.Type, example string) (cty.Value, *hcl.Attribute, bool) {
	a, ok := r.attrs[name]
	if !ok {
		return cty.NilVal, nil, false
	}
	v, diags := a.Expr.Value(nil)
	*r.diags = append(*r.diags, diags...)
	if diags.HasErrors() || v.IsNull() {
		return cty.NilVal, a, false
	}
	if !v.IsWhollyKnown() {
		r.errorAt(a, a.Expr.Range(), "Invalid value", "The value of %q must be known when the file is read; use a literal value.", name)
		return cty.NilVal, a, false
	}
	cv, err := convert.Convert(v, ty)
	if err != nil {
		r.errorAt(a, a.Expr.Range(), "Incorrect attribute value type",
			"%q must be %s, such as %s; got %s.", name, typeName(ty), example, v.Type().FriendlyName())
		return cty.NilVal, a, false
	}
	if ty.IsListType() {
		for it := cv.ElementIterator(); it.Next(); {
			i, e := it.Element()
			if e.IsNull() {
				n, _ := i.AsBigFloat().Int64()
				r.errorAt(a, elemRange(a.Expr, int(n)), "Null list element", "%q cannot contain null; remove the element.", name)
				return cty.NilVal, a, false
			}
		}
	}
	return cv, a, true
}

// maxExponent bounds the binary exponent of the numbers accepted: a little
// above float64's range. Converting a number such as 1e99999999 to a
// string or decimal takes minutes, so such numbers are refused first.
const maxExponent = 1100

// hugeNumber returns the path to the first number in v whose magnitude is
// beyond float64's range (or whose reciprocal is), and whether there is
// one.
func hugeNumber(v cty.Value) (cty.Path, bool) {
	var found cty.Path
	_ = cty.Walk(v, func(p cty.Path, x cty.Value) (bool, error) {
		if found != nil {
			return false, nil
		}
		if x.Type() == cty.Number && x.IsKnown() && !x.IsNull() {
			bf := x.AsBigFloat()
			if bf.IsInf() {
				found = p.Copy()
				return false, nil
			}
			if e := bf.MantExp(nil); e > maxExponent || e < -maxExponent {
				found = p.Copy()
			}
		}
		return true, nil
	})
	return found, found != nil
}

// typeName says what an operator writes for ty.
func typeName(ty cty.Type) string {
	switch {
	case ty == cty.String:
		return "a string"
	case ty == cty.Number:
		return "a number"
	case ty == cty.Bool:
		return "true or false"
	case ty.IsListType():
		return "a list of " + typeName(ty.ElementType())[2:] + "s"
	case ty.IsMapType():
		return "a map of " + typeName(ty.ElementType())[2:] + "s"
	}
	return ty.FriendlyName()
}

// elemRange is the range of element i of a list expression, or of the
// whole expression when it is not a literal list.
func elemRange(expr hcl.Expression, i int) hcl.Range {
	if t, ok := unwrap(expr).(*hclsyntax.TupleConsExpr); ok && i >= 0 && i < len(t.Exprs) {
		return t.Exprs[i].Range()
	}
	return expr.Range()
}

func (r reader) str(name string, dst *string) bool {
	v, _, ok := r.value(name, cty.String, `"text"`)
	if ok {
		*dst = v.AsString()
	}
	return ok
}

// nonEmpty reads a string that must not be empty.
func (r reader) nonEmpty(name string, dst *string) bool {
	v, a, ok := r.value(name, cty.String, `"text"`)
	if !ok {
		return false
	}
	if v.AsString() == "" {
		r.errorAt(a, a.Expr.Range(), "Empty value", "%q cannot be empty; set a value or remove the argument to use the default.", name)
		return false
	}
	*dst = v.AsString()
	return true
}

// path reads a file system path, resolved against base when relative.
func (r reader) path(name, base string, dst *string) bool {
	var p string
	if !r.nonEmpty(name, &p) {
		return false
	}
	*dst = resolve(base, p)
	return true
}

// resolve makes p absolute against base (the configuration file's
// directory) when it is relative.
func resolve(base, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(base, p)
}

func (r reader) boolean(name string, dst *bool) bool {
	v, _, ok := r.value(name, cty.Bool, "true")
	if ok {
		*dst = v.True()
	}
	return ok
}

// positiveInt reads a whole number greater than zero.
func (r reader) positiveInt(name string, dst *int) bool {
	v, a, ok := r.value(name, cty.Number, "3")
	if !ok {
		return false
	}
	bf := v.AsBigFloat()
	n, acc := bf.Int64()
	if acc != big.Exact || n > int64(^uint32(0)>>1) {
		r.errorAt(a, a.Expr.Range(), "Invalid number", "%q must be a whole number, such as 3; got %s.", name, bf.Text('g', -1))
		return false
	}
	if n <= 0 {
		r.errorAt(a, a.Expr.Range(), "Value must be positive", "%q must be 1 or more; got %d.", name, n)
		return false
	}
	*dst = int(n)
	return true
}

// duration reads a Go duration string that must be greater than zero.
func (r reader) duration(name string, dst *time.Duration) bool {
	v, a, ok := r.value(name, cty.String, `"30s"`)
	if !ok {
		return false
	}
	d, err := time.ParseDuration(v.AsString())
	if err != nil {
		r.errorAt(a, a.Expr.Range(), "Invalid duration",
			"%q is not a duration; write a number followed by a unit (ms, s, m or h), such as \"30s\", \"5m\" or \"1h30m\".", v.AsString())
		return false
	}
	if d <= 0 {
		r.errorAt(a, a.Expr.Range(), "Duration must be positive", "%q must be longer than zero, such as \"10s\"; got %q.", name, v.AsString())
		return false
	}
	*dst = d
	return true
}

// strings reads a list of strings.
func (r reader) strings(name string, dst *[]string) bool {
	v, _, ok := r.value(name, cty.List(cty.String), `["a", "b"]`)
	if !ok {
		return false
	}
	out := make([]string, 0, v.LengthInt())
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		out = append(out, e.AsString())
	}
	*dst = out
	return true
}

// command reads a non-empty argument vector whose program is not empty;
// example is a typical value for the detail.
func (r reader) command(name, example string, dst *[]string) bool {
	var argv []string
	if !r.strings(name, &argv) {
		return false
	}
	a := r.attrs[name]
	if len(argv) == 0 {
		r.errorAt(a, a.Expr.Range(), "Empty command", "%q needs at least the program to run, such as %s.", name, example)
		return false
	}
	if argv[0] == "" {
		r.errorAt(a, elemRange(a.Expr, 0), "Empty program", "The first element of %q is the program to run; it cannot be empty.", name)
		return false
	}
	*dst = argv
	return true
}

// stringMap reads an object whose values must all be strings (numbers and
// bools are refused rather than converted, so `80` and `"80"` never differ
// silently). dst receives the valid entries even when some are not.
func (r reader) stringMap(name string, dst *map[string]string) bool {
	a, ok := r.attrs[name]
	if !ok {
		return false
	}
	v, diags := a.Expr.Value(nil)
	*r.diags = append(*r.diags, diags...)
	if diags.HasErrors() || v.IsNull() {
		return false
	}
	ty := v.Type()
	if !ty.IsObjectType() && !ty.IsMapType() {
		r.errorAt(a, a.Expr.Range(), "Incorrect attribute value type", "%q must be a map of strings, such as { site = \"paris\" }; got %s.", name, ty.FriendlyName())
		return false
	}
	if !v.IsWhollyKnown() {
		r.errorAt(a, a.Expr.Range(), "Invalid value", "The value of %q must be known when the file is read; use a literal value.", name)
		return false
	}
	r.duplicateKeys(a)
	out := map[string]string{}
	good := true
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		key := k.AsString()
		if e.IsNull() || e.Type() != cty.String {
			r.errorAt(a, valueRange(a.Expr, key), "Incorrect attribute value type",
				"The value of %s in %q must be a string; quote it: %s = \"...\".", key, name, key)
			good = false
			continue
		}
		out[key] = e.AsString()
	}
	*dst = out
	return good
}

// lineOf names where r starts, for a diagnostic's detail about another
// place in the same file.
func lineOf(r hcl.Range) string { return fmt.Sprintf("line %d", r.Start.Line) }

// valueRange is the range of key's value in the object expression expr.
func valueRange(expr hcl.Expression, key string) hcl.Range {
	rng, _ := locate(expr, []string{key}, expr.Range())
	return rng
}

// duplicateKeys reports keys given twice in a's object expression: hcl
// keeps the last silently.
func (r reader) duplicateKeys(a *hcl.Attribute) {
	items, _ := objectItems(a.Expr)
	seen := map[string]hcl.Range{}
	for _, it := range items {
		if first, dup := seen[it.key]; dup {
			r.errorAt(a, it.keyRange, "Duplicate key",
				"The key %q is already set on %s; remove one of them.", it.key, lineOf(first))
			continue
		}
		seen[it.key] = it.keyRange
	}
}

// object reads a `config = { ... }` attribute: an object or map value whose
// keys are checked later against the plugin's schema.
func (r reader) object(name string) (cty.Value, hcl.Expression) {
	a, ok := r.attrs[name]
	if !ok {
		return cty.EmptyObjectVal, nil
	}
	v, diags := a.Expr.Value(nil)
	*r.diags = append(*r.diags, diags...)
	if diags.HasErrors() {
		return cty.EmptyObjectVal, a.Expr
	}
	if v.IsNull() {
		return cty.EmptyObjectVal, nil
	}
	if ty := v.Type(); !ty.IsObjectType() && !ty.IsMapType() {
		r.errorAt(a, a.Expr.Range(), "Incorrect attribute value type", "%q must be an object, such as { path = \"/\" }; got %s.", name, ty.FriendlyName())
		return cty.EmptyObjectVal, a.Expr
	}
	r.duplicateKeys(a)
	return v, a.Expr
}

// checkName reports a name (a block label or a check) that the SDK would
// not accept.
func checkName(diags *hcl.Diagnostics, what, name string, rng hcl.Range) bool {
	if nameRe.MatchString(name) {
		return true
	}
	*diags = append(*diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid " + what + " name",
		Detail:   fmt.Sprintf("%q is not a valid %s name: use lowercase letters, digits, \"_\" and \"-\", starting with a letter.", name, what),
		Subject:  rng.Ptr(),
	})
	return false
}

// warnTimeout warns when a run may not finish before the next is due.
// timeoutOK and intervalOK say whether the block set those arguments and
// they decoded: the defaults alone never warn, and a bad value is already
// an error.
func warnTimeout(diags *hcl.Diagnostics, attrs hcl.Attributes, timeout, interval time.Duration, timeoutOK, intervalOK bool) {
	if timeout <= interval || !(timeoutOK || intervalOK) {
		return
	}
	if _, set := attrs["timeout"]; set && !timeoutOK {
		return
	}
	if _, set := attrs["interval"]; set && !intervalOK {
		return
	}
	a, ok := attrs["timeout"]
	if !ok {
		a = attrs["interval"]
	}
	subject := a.Expr.Range()
	*diags = append(*diags, &hcl.Diagnostic{
		Severity: hcl.DiagWarning,
		Summary:  "Timeout longer than interval",
		Detail:   fmt.Sprintf("The timeout (%s) is longer than the interval (%s), so a slow run delays the next; shorten the timeout or lengthen the interval.", timeout, interval),
		Subject:  subject.Ptr(),
	})
}
