package agentconfig

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/vigilmon/vigil/sdk"
	"github.com/zclconf/go-cty/cty"
)

// subject stands for the block a config belongs to, used when there is no
// config expression.
var subject = hcl.Range{Filename: "agent.hcl", Start: hcl.Pos{Line: 9, Column: 1, Byte: 100}, End: hcl.Pos{Line: 9, Column: 10, Byte: 109}}

// parseConfig parses src as the config expression; "" means absent.
func parseConfig(t *testing.T, src string) (cty.Value, hcl.Expression) {
	t.Helper()
	if src == "" {
		return cty.NilVal, nil
	}
	expr, diags := hclsyntax.ParseExpression([]byte(src), "agent.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("parsing %q: %s", src, diags.Error())
	}
	v, diags := expr.Value(nil)
	if diags.HasErrors() {
		t.Fatalf("evaluating %q: %s", src, diags.Error())
	}
	return v, expr
}

// gotDiag is what the tests compare of a diagnostic: where its subject
// starts ("line:column") and its summary; the detail is checked to
// contain a fragment.
type gotDiag struct {
	At      string
	Summary string
	Detail  string // a fragment of the detail
}

// posOf is the "line:column" of the first occurrence of needle in src.
func posOf(t *testing.T, src, needle string) string {
	t.Helper()
	i := strings.Index(src, needle)
	if i < 0 {
		t.Fatalf("%q not in %q", needle, src)
	}
	line := 1 + strings.Count(src[:i], "\n")
	col := i + 1 - (strings.LastIndex(src[:i], "\n") + 1)
	return fmt.Sprintf("%d:%d", line, col)
}

// compareDiags matches diags against want, position, summary and a
// fragment of the detail.
func compareDiags(t *testing.T, want []gotDiag, diags hcl.Diagnostics) {
	t.Helper()
	got := make([]gotDiag, 0, len(diags))
	for i, d := range diags {
		g := gotDiag{Summary: d.Summary, Detail: d.Detail}
		if d.Subject != nil {
			g.At = fmt.Sprintf("%d:%d", d.Subject.Start.Line, d.Subject.Start.Column)
		}
		if i < len(want) && strings.Contains(d.Detail, want[i].Detail) {
			g.Detail = want[i].Detail
		}
		got = append(got, g)
	}
	if want == nil {
		want = []gotDiag{}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
}

var httpSchema = sdk.Schema{
	{Name: "url", Type: sdk.TypeString, Required: true, Description: "The URL to fetch."},
	{Name: "timeout", Type: sdk.TypeDuration, Default: "5s"},
	{Name: "expect", Type: sdk.TypeNumberList, Default: []float64{200}},
	{Name: "headers", Type: sdk.TypeStringMap},
	{Name: "insecure", Type: sdk.TypeBool, Default: false},
	{Name: "retries", Type: sdk.TypeNumber, Default: 2},
	{Name: "names", Type: sdk.TypeStringList},
}

func TestMethodConfig(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		wantJSON string
		// wantDiags positions are given as needles of src (or "subject").
		wantDiags []struct{ needle, summary, detail string }
	}{
		{
			name:     "all types, defaults applied",
			src:      `{ url = "http://x", timeout = "1s", headers = { a = "b" }, names = ["n"] }`,
			wantJSON: `{"expect":[200],"headers":{"a":"b"},"insecure":false,"names":["n"],"retries":2,"timeout":"1s","url":"http://x"}`,
		},
		{
			name:     "numbers are JSON numbers, values convert",
			src:      `{ url = 5, retries = 3.5, expect = [200, "301"], insecure = "true" }`,
			wantJSON: `{"expect":[200,301],"insecure":true,"retries":3.5,"timeout":"5s","url":"5"}`,
		},
		{
			name:     "null means default",
			src:      `{ url = "u", timeout = null }`,
			wantJSON: `{"expect":[200],"insecure":false,"retries":2,"timeout":"5s","url":"u"}`,
		},
		{
			name: "absent config, required key",
			wantDiags: []struct{ needle, summary, detail string }{
				{"subject", "Missing required config key", `requires "url" (The URL to fetch) in config; add url = "text".`},
			},
		},
		{
			name: "unknown key suggests",
			src:  `{ url = "u", timout = "1s" }`,
			wantDiags: []struct{ needle, summary, detail string }{
				{"timout", "Unsupported config key", `Did you mean "timeout"?`},
			},
		},
		{
			name: "quoted unknown key",
			src:  `{ url = "u", "verbose" = true }`,
			wantDiags: []struct{ needle, summary, detail string }{
				{`"verbose"`, "Unsupported config key", `the accepted keys are "url", "timeout"`},
			},
		},
		{
			name: "wrong type",
			src:  `{ url = ["a"] }`,
			wantDiags: []struct{ needle, summary, detail string }{
				{`["a"]`, "Incorrect config value type", `"url" must be a string, such as "text"; got tuple.`},
			},
		},
		{
			name: "wrong list element",
			src:  `{ url = "u", expect = [200, "abc"] }`,
			wantDiags: []struct{ needle, summary, detail string }{
				{`"abc"`, "Incorrect config value type", `"expect" must be a list of numbers, such as [1, 2]`},
			},
		},
		{
			name: "wrong map value",
			src:  "{\n  url = \"u\"\n  headers = {\n    a = \"x\"\n    b = [\"y\"]\n  }\n}",
			wantDiags: []struct{ needle, summary, detail string }{
				{`["y"]`, "Incorrect config value type", `"headers" must be a map of strings`},
			},
		},
		{
			name: "bad duration",
			src:  `{ url = "u", timeout = "5 seconds" }`,
			wantDiags: []struct{ needle, summary, detail string }{
				{`"5 seconds"`, "Invalid duration", `"5 seconds" is not a duration`},
			},
		},
		{
			name: "not an object",
			src:  `"url"`,
			wantDiags: []struct{ needle, summary, detail string }{
				{`"url"`, "Incorrect config type", "config must be an object"},
				{`"url"`, "Missing required config key", `requires "url"`},
			},
		},
		{
			name: "every problem at once",
			src:  `{ urls = "u", insecure = 3, timeout = "soon" }`,
			wantDiags: []struct{ needle, summary, detail string }{
				{"urls", "Unsupported config key", `Did you mean "url"?`},
				{"{", "Missing required config key", `"url"`},
				{`"soon"`, "Invalid duration", ""},
				{"3", "Incorrect config value type", `"insecure" must be true or false`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			val, expr := parseConfig(t, tt.src)
			got, diags := MethodConfig(httpSchema, val, expr, subject)
			var want []gotDiag
			for _, w := range tt.wantDiags {
				at := "9:1"
				if w.needle != "subject" {
					at = posOf(t, tt.src, w.needle)
				}
				want = append(want, gotDiag{At: at, Summary: w.summary, Detail: w.detail})
			}
			compareDiags(t, want, diags)
			if diff := cmp.Diff(tt.wantJSON, string(got)); diff != "" {
				t.Errorf("JSON (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPluginConfig(t *testing.T) {
	schemas := map[string]sdk.Schema{
		"cpu": {
			{Name: "percpu", Type: sdk.TypeBool, Default: true},
			{Name: "totalcpu", Type: sdk.TypeBool, Default: true},
		},
		"disk": {
			{Name: "disk_fs_types", Type: sdk.TypeStringList, Default: []string{"ext4"}},
			{Name: "mount_points", Type: sdk.TypeStringList},
			{Name: "interval_hint", Type: sdk.TypeDuration},
		},
		"net": {
			{Name: "interfaces", Type: sdk.TypeStringList},
			{Name: "interval_hint", Type: sdk.TypeDuration},
		},
		"secret": {{Name: "token", Type: sdk.TypeString, Required: true}},
	}
	enabled := func(names ...string) map[string]sdk.Schema {
		m := map[string]sdk.Schema{}
		for _, n := range names {
			m[n] = schemas[n]
		}
		return m
	}
	tests := []struct {
		name      string
		enabled   []string
		src       string
		want      map[string]string
		wantDiags []struct{ needle, summary, detail string }
	}{
		{
			name:    "each collector gets its keys and defaults",
			enabled: []string{"cpu", "disk"},
			src:     `{ percpu = false, disk_fs_types = ["xfs"] }`,
			want:    map[string]string{"cpu": `{"percpu":false,"totalcpu":true}`, "disk": `{"disk_fs_types":["xfs"]}`},
		},
		{
			name:    "absent config",
			enabled: []string{"cpu", "net"},
			want:    map[string]string{"cpu": `{"percpu":true,"totalcpu":true}`, "net": `{}`},
		},
		{
			name:    "shared key goes to both",
			enabled: []string{"disk", "net"},
			src:     `{ interval_hint = "1m" }`,
			want:    map[string]string{"disk": `{"disk_fs_types":["ext4"],"interval_hint":"1m"}`, "net": `{"interval_hint":"1m"}`},
		},
		{
			name:    "shared key with a bad value is reported once",
			enabled: []string{"disk", "net"},
			src:     `{ interval_hint = "often" }`,
			wantDiags: []struct{ needle, summary, detail string }{
				{`"often"`, "Invalid duration", `"often" is not a duration`},
			},
		},
		{
			name:    "unknown key suggests among enabled collectors",
			enabled: []string{"cpu", "disk"},
			src:     `{ disk_fs_type = ["xfs"] }`,
			wantDiags: []struct{ needle, summary, detail string }{
				{"disk_fs_type", "Unsupported config key", `No enabled collector (cpu, disk) accepts "disk_fs_type"`},
			},
		},
		{
			name:    "key of a collector that is not enabled",
			enabled: []string{"cpu"},
			src:     `{ interfaces = ["eth0"] }`,
			wantDiags: []struct{ needle, summary, detail string }{
				{"interfaces", "Unsupported config key", `the accepted keys are "percpu" or "totalcpu"`},
			},
		},
		{
			name:    "required key of one collector",
			enabled: []string{"cpu", "secret"},
			src:     `{ percpu = true }`,
			wantDiags: []struct{ needle, summary, detail string }{
				{"{", "Missing required config key", `The collector "secret" requires "token"`},
			},
		},
		{
			name:    "no collector enabled",
			enabled: nil,
			src:     `{ percpu = true }`,
			wantDiags: []struct{ needle, summary, detail string }{
				{"percpu", "Unsupported config key", "Nothing here accepts configuration"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			val, expr := parseConfig(t, tt.src)
			got, diags := PluginConfig(enabled(tt.enabled...), val, expr, subject)
			var want []gotDiag
			for _, w := range tt.wantDiags {
				want = append(want, gotDiag{At: posOf(t, tt.src, w.needle), Summary: w.summary, Detail: w.detail})
			}
			compareDiags(t, want, diags)
			var gotJSON map[string]string
			if got != nil {
				gotJSON = map[string]string{}
				for k, v := range got {
					gotJSON[k] = string(v)
				}
			}
			if diff := cmp.Diff(tt.want, gotJSON); diff != "" {
				t.Errorf("configs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFromPluginDiagnostics(t *testing.T) {
	src := "{\n  urls = [\"http://a\", \"ftp://b\"]\n  auth = { user = \"x\" }\n}"
	tests := []struct {
		name   string
		in     sdk.Diagnostic
		noExpr bool
		want   hcl.Diagnostic // Subject replaced by At
		at     string
	}{
		{
			name: "list element",
			in:   sdk.Diagnostic{Severity: sdk.SeverityError, Summary: "Unsupported scheme", Detail: "use http or https", Path: []string{"urls", "1"}},
			want: hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unsupported scheme", Detail: "use http or https"},
			at:   `"ftp://b"`,
		},
		{
			name: "nested key",
			in:   sdk.Diagnostic{Severity: sdk.SeverityWarning, Summary: "Weak auth", Detail: "prefer a token", Path: []string{"auth", "user"}},
			want: hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Weak auth", Detail: "prefer a token"},
			at:   `"x"`,
		},
		{
			name: "key the user did not set",
			in:   sdk.Diagnostic{Severity: sdk.SeverityError, Summary: "Bad default", Detail: "set it", Path: []string{"timeout"}},
			want: hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Bad default", Detail: "config.timeout: set it"},
			at:   "{",
		},
		{
			name: "index past the end stops at the list",
			in:   sdk.Diagnostic{Severity: sdk.SeverityError, Summary: "S", Detail: "d", Path: []string{"urls", "5"}},
			want: hcl.Diagnostic{Severity: hcl.DiagError, Summary: "S", Detail: "config.urls.5: d"},
			at:   `["http://a"`,
		},
		{
			name: "no path",
			in:   sdk.Diagnostic{Severity: sdk.SeverityError, Summary: "Cannot connect", Detail: "d"},
			want: hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot connect", Detail: "d"},
			at:   "{",
		},
		{
			name:   "no config expression",
			in:     sdk.Diagnostic{Severity: sdk.SeverityError, Summary: "Missing", Detail: "add url", Path: []string{"url"}},
			noExpr: true,
			want:   hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Missing", Detail: "config.url: add url"},
			at:     "9:1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var expr hcl.Expression
			at := tt.at
			if !tt.noExpr {
				_, expr = parseConfig(t, src)
				at = posOf(t, src, tt.at)
			}
			got := FromPluginDiagnostics(sdk.Diagnostics{tt.in}, expr, subject)
			if len(got) != 1 {
				t.Fatalf("got %d diagnostics", len(got))
			}
			g := *got[0]
			gotAt := fmt.Sprintf("%d:%d", g.Subject.Start.Line, g.Subject.Start.Column)
			g.Subject = nil
			if diff := cmp.Diff(tt.want, g); diff != "" {
				t.Errorf("diagnostic (-want +got):\n%s", diff)
			}
			if gotAt != at {
				t.Errorf("subject at %s, want %s", gotAt, at)
			}
		})
	}
}
