package agentconfig

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

func TestParseValid(t *testing.T) {
	files, err := filepath.Glob("testdata/valid/*.hcl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no valid files: %v", err)
	}
	files = append(files, "../../examples/agent.hcl")
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			cfg, diags := Load(name)
			if len(diags) > 0 {
				var buf bytes.Buffer
				WriteDiagnostics(&buf, cfg.Files, diags, false)
				t.Fatalf("unexpected diagnostics:\n%s", buf.String())
			}
			if len(cfg.Outputs) == 0 {
				t.Error("no outputs")
			}
		})
	}
}

// marker is one expected diagnostic: `# ERROR: <summary>` or
// `# WARNING: <summary>` on the line its subject starts.
type marker struct {
	Line     int
	Severity string
	Summary  string
}

var markerRe = regexp.MustCompile(`#\s*(ERROR|WARNING):\s*([^#]*[^#\s])`)

func readMarkers(t *testing.T, name string) []marker {
	t.Helper()
	src, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var out []marker
	sc := bufio.NewScanner(bytes.NewReader(src))
	for line := 1; sc.Scan(); line++ {
		for _, m := range markerRe.FindAllStringSubmatch(sc.Text(), -1) {
			out = append(out, marker{Line: line, Severity: m[1], Summary: m[2]})
		}
	}
	return out
}

func sortMarkers(ms []marker) {
	sort.Slice(ms, func(i, j int) bool {
		if ms[i].Line != ms[j].Line {
			return ms[i].Line < ms[j].Line
		}
		return ms[i].Summary < ms[j].Summary
	})
}

func TestParseErrors(t *testing.T) {
	files, err := filepath.Glob("testdata/errors/*.hcl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no error files: %v", err)
	}
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			want := readMarkers(t, name)
			if len(want) == 0 {
				t.Fatal("file has no # ERROR: or # WARNING: marker")
			}
			cfg, diags := Load(name)
			var got []marker
			for _, d := range diags {
				sev := "ERROR"
				if d.Severity == hcl.DiagWarning {
					sev = "WARNING"
				}
				if d.Subject == nil {
					t.Errorf("diagnostic without subject: %s: %s", d.Summary, d.Detail)
					continue
				}
				if d.Subject.Filename != name {
					t.Errorf("diagnostic %q names file %q, want %q", d.Summary, d.Subject.Filename, name)
				}
				if d.Detail == "" {
					t.Errorf("diagnostic %q on line %d has no detail", d.Summary, d.Subject.Start.Line)
				}
				got = append(got, marker{Line: d.Subject.Start.Line, Severity: sev, Summary: d.Summary})
			}
			sortMarkers(want)
			sortMarkers(got)
			if diff := cmp.Diff(want, got); diff != "" {
				var buf bytes.Buffer
				WriteDiagnostics(&buf, cfg.Files, diags, false)
				t.Errorf("diagnostics (-want +got):\n%s\nall diagnostics:\n%s", diff, buf.String())
			}
		})
	}
}

// TestDidYouMean checks the suggestions in the details of unknown names.
func TestDidYouMean(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"argument", "agent {\n  intervl = \"10s\"\n}\n", `Did you mean "interval"?`},
		{"block type", "agnet {\n}\n", `Did you mean "agent"?`},
		{"nested block type", "plugin \"x\" {\n  version = \"1.0.0\"\n  promise \"p\" {\n    check = \"c\"\n    anomali {\n    }\n  }\n}\n", `Did you mean "anomaly"?`},
		{"output kind", "output \"influx\" {}\n", `Did you mean "influxdb"?`},
		{"output kind case", "output \"STDOUT\" {}\n", `Did you mean "stdout"?`},
		{"exit codes", "promise \"p\" {\n  command = [\"x\"]\n  exit_codes = \"slapso\"\n}\n", `Did you mean "slapos"?`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := Parse([]byte(tt.src), "t.hcl")
			var details []string
			for _, d := range diags {
				details = append(details, d.Detail)
			}
			if len(diags) != 1 || !strings.Contains(diags[0].Detail, tt.want) {
				t.Errorf("want one diagnostic whose detail contains %q; got %q", tt.want, details)
			}
		})
	}
}

func TestNoSuggestionWhenFar(t *testing.T) {
	_, diags := Parse([]byte("output \"kafka\" {}\n"), "t.hcl")
	if len(diags) != 1 || strings.Contains(diags[0].Detail, "Did you mean") {
		t.Fatalf("want one diagnostic without a suggestion, got %v", diags)
	}
}

func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/valid/*.hcl", "testdata/errors/*.hcl"} {
		files, _ := filepath.Glob(pattern)
		for _, name := range files {
			src, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(src)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, diags := Parse(src, "fuzz.hcl")
		if cfg == nil {
			t.Fatal("nil config")
		}
		for _, d := range diags {
			if d.Summary == "" {
				t.Fatalf("diagnostic without summary: %#v", d)
			}
		}
		if !diags.HasErrors() && len(cfg.Outputs) == 0 {
			t.Fatal("a valid config without outputs")
		}
		_, _ = DiagnosticsJSON(diags)
		WriteDiagnostics(&bytes.Buffer{}, cfg.Files, diags, false)
	})
}

// debugDiags formats diagnostics for failure messages.
func debugDiags(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		fmt.Fprintf(&b, "\n  %s: %s", d.Summary, d.Detail)
	}
	return b.String()
}
