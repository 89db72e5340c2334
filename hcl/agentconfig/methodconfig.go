package agentconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/vigilmon/vigil/sdk"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// MethodConfig checks the configuration of one method (a promise's
// `config = { ... }`) against the schema the plugin declared, and returns
// it as the JSON object the plugin receives: defaults applied, durations as
// strings, numbers as JSON numbers. val and expr are the decoded value and
// its expression (nil when absent); diagnostics point at the offending key
// or value inside expr, or at subject when there is no expression. The JSON
// is nil when there are errors.
func MethodConfig(schema sdk.Schema, val cty.Value, expr hcl.Expression, subject hcl.Range) ([]byte, hcl.Diagnostics) {
	at := site{expr: expr, subject: subject}
	entries, diags := configEntries(val, at)
	names := schemaNames(schema)
	for _, k := range sortedKeys(entries) {
		if !slices.Contains(names, k) {
			diags = append(diags, unknownKey(k, names, "", at))
		}
	}
	out, d := applySchema(schema, entries, "", at)
	diags = append(diags, d...)
	return marshal(out, diags)
}

// PluginConfig checks a plugin-level `config` shared by the plugin's
// enabled collectors (schemas maps a collector name to its schema): a key
// is valid when any of them declares it, and each collector receives the
// keys its own schema declares, with its defaults. The result maps each
// collector name to its JSON configuration; it is nil when there are
// errors.
func PluginConfig(schemas map[string]sdk.Schema, val cty.Value, expr hcl.Expression, subject hcl.Range) (map[string][]byte, hcl.Diagnostics) {
	at := site{expr: expr, subject: subject}
	entries, diags := configEntries(val, at)
	collectors := make([]string, 0, len(schemas))
	for c := range schemas {
		collectors = append(collectors, c)
	}
	sort.Strings(collectors)
	var union []string
	for _, c := range collectors {
		for _, n := range schemaNames(schemas[c]) {
			if !slices.Contains(union, n) {
				union = append(union, n)
			}
		}
	}
	for _, k := range sortedKeys(entries) {
		if !slices.Contains(union, k) {
			diags = append(diags, unknownKey(k, union, strings.Join(collectors, ", "), at))
		}
	}
	out := make(map[string][]byte, len(collectors))
	for _, c := range collectors {
		values, d := applySchema(schemas[c], entries, c, at)
		for _, x := range d {
			if !containsDiag(diags, x) {
				diags = append(diags, x)
			}
		}
		b, d := marshal(values, nil)
		diags = append(diags, d...)
		out[c] = b
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return out, diags
}

// site is where a configuration came from in the user's file.
type site struct {
	expr    hcl.Expression // nil when the config argument is absent
	subject hcl.Range
}

func (s site) whole() *hcl.Range { r := exprRange(s.expr, s.subject); return &r }

func (s site) key(k string) *hcl.Range { r := keyRange(s.expr, k, s.subject); return &r }

func (s site) at(path []string) *hcl.Range {
	r, _ := locate(s.expr, path, s.subject)
	return &r
}

// configEntries returns the non-null keys of an object or map value.
func configEntries(val cty.Value, at site) (map[string]cty.Value, hcl.Diagnostics) {
	entries := map[string]cty.Value{}
	if val == cty.NilVal || val.IsNull() {
		return entries, nil
	}
	if ty := val.Type(); !ty.IsObjectType() && !ty.IsMapType() {
		return entries, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Incorrect config type",
			Detail:   fmt.Sprintf("config must be an object, such as { path = \"/\" }; got %s.", ty.FriendlyName()),
			Subject:  at.whole(),
		}}
	}
	if !val.IsKnown() {
		return entries, nil
	}
	for it := val.ElementIterator(); it.Next(); {
		k, v := it.Element()
		if !v.IsNull() {
			entries[k.AsString()] = v
		}
	}
	return entries, nil
}

func schemaNames(s sdk.Schema) []string {
	names := make([]string, len(s))
	for i, a := range s {
		names[i] = a.Name
	}
	return names
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func unknownKey(k string, names []string, collectors string, at site) *hcl.Diagnostic {
	var detail string
	switch {
	case collectors != "" && len(names) > 0:
		detail = fmt.Sprintf("No enabled collector (%s) accepts %q; the accepted keys are %s.", collectors, k, quotedList(names))
	case len(names) > 0:
		detail = fmt.Sprintf("This method does not accept %q; the accepted keys are %s.", k, quotedList(names))
	default:
		detail = fmt.Sprintf("Nothing here accepts configuration, so %q cannot be set; remove it.", k)
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Unsupported config key",
		Detail:   detail + DidYouMean(k, names),
		Subject:  at.key(k),
	}
}

// applySchema converts the entries schema declares and applies its
// defaults; owner names the collector in "missing" details, if any.
func applySchema(schema sdk.Schema, entries map[string]cty.Value, owner string, at site) (map[string]any, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	out := map[string]any{}
	for _, a := range schema {
		v, set := entries[a.Name]
		switch {
		case set:
			jv, d := jsonValue(a, v, at)
			diags = append(diags, d...)
			if d == nil {
				out[a.Name] = jv
			}
		case a.Required:
			who := "This method"
			if owner != "" {
				who = fmt.Sprintf("The collector %q", owner)
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Missing required config key",
				Detail:   fmt.Sprintf("%s requires %q (%s) in config; add %s = %s.", who, a.Name, describe(a), a.Name, example(a.Type)),
				Subject:  at.whole(),
			})
		case a.Default != nil:
			out[a.Name] = a.Default
		}
	}
	return out, diags
}

// describe is an attribute's description, or its type.
func describe(a sdk.Attribute) string {
	if a.Description != "" {
		return strings.TrimSuffix(a.Description, ".")
	}
	return string(a.Type)
}

// ctyType is the cty type a schema type is converted to.
func ctyType(t sdk.Type) cty.Type {
	switch t {
	case sdk.TypeNumber:
		return cty.Number
	case sdk.TypeBool:
		return cty.Bool
	case sdk.TypeStringList:
		return cty.List(cty.String)
	case sdk.TypeNumberList:
		return cty.List(cty.Number)
	case sdk.TypeStringMap:
		return cty.Map(cty.String)
	}
	return cty.String
}

func example(t sdk.Type) string {
	switch t {
	case sdk.TypeNumber:
		return "3"
	case sdk.TypeBool:
		return "true"
	case sdk.TypeDuration:
		return `"30s"`
	case sdk.TypeStringList:
		return `["a", "b"]`
	case sdk.TypeNumberList:
		return "[1, 2]"
	case sdk.TypeStringMap:
		return `{ key = "value" }`
	}
	return `"text"`
}

// jsonValue converts v to a's type and then to what encoding/json writes.
func jsonValue(a sdk.Attribute, v cty.Value, at site) (any, hcl.Diagnostics) {
	path := []string{a.Name}
	if !v.IsWhollyKnown() {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid config value",
			Detail: fmt.Sprintf("The value of %q must be known when the file is read.", a.Name), Subject: at.at(path)}}
	}
	if p, huge := hugeNumber(v); huge {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Number out of range",
			Detail:  fmt.Sprintf("%q holds a number too large to use; write a smaller one.", a.Name),
			Subject: at.at(append(path, ctyPath(p)...))}}
	}
	cv, err := convert.Convert(v, ctyType(a.Type))
	if err != nil {
		path = append(path, badElement(v, ctyType(a.Type), err)...)
		want := typeName(ctyType(a.Type))
		if a.Type == sdk.TypeDuration {
			want = "a duration"
		}
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Incorrect config value type",
			Detail:  fmt.Sprintf("%q must be %s, such as %s; got %s.", a.Name, want, example(a.Type), v.Type().FriendlyName()),
			Subject: at.at(path)}}
	}
	if a.Type == sdk.TypeDuration {
		if _, err := time.ParseDuration(cv.AsString()); err != nil {
			return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid duration",
				Detail: fmt.Sprintf("%q is not a duration; write a number followed by a unit (ms, s, m or h), such as \"30s\" or \"1m30s\".",
					cv.AsString()), Subject: at.at(path)}}
		}
	}
	jv, p := toJSON(cv)
	if p != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid config value",
			Detail:  fmt.Sprintf("A value of %q is null or a number too large to represent; remove or correct it.", a.Name),
			Subject: at.at(append(path, p...))}}
	}
	return jv, nil
}

// badElement is the path to the element of v that failed conversion to
// ty with err, or nil when the value as a whole is wrong.
func badElement(v cty.Value, ty cty.Type, err error) []string {
	var pe cty.PathError
	if errors.As(err, &pe) && len(pe.Path) > 0 {
		return ctyPath(pe.Path)
	}
	vt := v.Type()
	if !(ty.IsListType() || ty.IsMapType()) || !(vt.IsObjectType() || vt.IsMapType() || vt.IsTupleType() || vt.IsListType()) {
		return nil
	}
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if _, err := convert.Convert(e, ty.ElementType()); err != nil {
			return ctyPath(cty.Path{cty.IndexStep{Key: k}})
		}
	}
	return nil
}

// toJSON turns a converted, known value into plain Go values; a non-nil
// path names an element that cannot be represented (null or ±Inf).
func toJSON(v cty.Value) (any, []string) {
	if v.IsNull() {
		return nil, []string{}
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		return v.AsString(), nil
	case ty == cty.Bool:
		return v.True(), nil
	case ty == cty.Number:
		f, _ := v.AsBigFloat().Float64()
		if math.IsInf(f, 0) {
			return nil, []string{}
		}
		return f, nil
	case ty.IsListType():
		out := make([]any, 0, v.LengthInt())
		for i, it := 0, v.ElementIterator(); it.Next(); i++ {
			_, e := it.Element()
			x, p := toJSON(e)
			if p != nil {
				return nil, append([]string{fmt.Sprint(i)}, p...)
			}
			out = append(out, x)
		}
		return out, nil
	case ty.IsMapType():
		out := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			x, p := toJSON(e)
			if p != nil {
				return nil, append([]string{k.AsString()}, p...)
			}
			out[k.AsString()] = x
		}
		return out, nil
	}
	return nil, []string{}
}

func marshal(values map[string]any, diags hcl.Diagnostics) ([]byte, hcl.Diagnostics) {
	if diags.HasErrors() {
		return nil, diags
	}
	b, err := json.Marshal(values)
	if err != nil {
		return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid schema default",
			Detail: fmt.Sprintf("The plugin's schema has a default that cannot be encoded (%v); report this to the plugin's author.", err)})
	}
	return b, diags
}

func containsDiag(diags hcl.Diagnostics, d *hcl.Diagnostic) bool {
	for _, x := range diags {
		if x.Summary == d.Summary && x.Detail == d.Detail && x.Severity == d.Severity &&
			(x.Subject == nil) == (d.Subject == nil) && (x.Subject == nil || *x.Subject == *d.Subject) {
			return true
		}
	}
	return false
}

// FromPluginDiagnostics maps the configuration diagnostics a plugin
// returned for a method onto the user's file: a diagnostic's Path is
// followed inside expr (the method's config expression) as far as it goes;
// when it cannot be followed to the end, the detail names the path.
func FromPluginDiagnostics(d sdk.Diagnostics, expr hcl.Expression, subject hcl.Range) hcl.Diagnostics {
	out := make(hcl.Diagnostics, 0, len(d))
	for _, x := range d {
		sev := hcl.DiagError
		if x.Severity == sdk.SeverityWarning {
			sev = hcl.DiagWarning
		}
		rng, exact := locate(expr, x.Path, subject)
		detail := x.Detail
		if !exact && len(x.Path) > 0 {
			detail = fmt.Sprintf("config.%s: %s", strings.Join(x.Path, "."), detail)
		}
		out = append(out, &hcl.Diagnostic{Severity: sev, Summary: x.Summary, Detail: detail, Subject: rng.Ptr()})
	}
	return out
}
