package agentconfig

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

const badSrc = "agent {\n  interval = \"soon\"\n}\n\noutput \"stdout\" {}\noutput \"stdout\" {}\n"

func TestDiagnosticsJSON(t *testing.T) {
	_, diags := Parse([]byte(badSrc), "agent.hcl")
	diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "No subject", Detail: "d"})
	got, err := DiagnosticsJSON(diags)
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "valid": false,
  "error_count": 2,
  "warning_count": 1,
  "diagnostics": [
    {
      "severity": "error",
      "summary": "Invalid duration",
      "detail": "\"soon\" is not a duration; write a number followed by a unit (ms, s, m or h), such as \"30s\", \"5m\" or \"1h30m\".",
      "range": {
        "filename": "agent.hcl",
        "start": {"line": 2, "column": 14, "byte": 21},
        "end": {"line": 2, "column": 20, "byte": 27}
      }
    },
    {
      "severity": "error",
      "summary": "Duplicate output",
      "detail": "An output \"stdout\" is already configured on line 5; keep one.",
      "range": {
        "filename": "agent.hcl",
        "start": {"line": 6, "column": 1, "byte": 50},
        "end": {"line": 6, "column": 16, "byte": 65}
      }
    },
    {"severity": "warning", "summary": "No subject", "detail": "d"}
  ]
}`
	var gotV, wantV any
	if err := json.Unmarshal(got, &gotV); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(want), &wantV); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantV, gotV); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
}

func TestDiagnosticsJSONValid(t *testing.T) {
	got, err := DiagnosticsJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"valid":true,"error_count":0,"warning_count":0,"diagnostics":[]}`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
}

func TestWriteDiagnostics(t *testing.T) {
	cfg, diags := Parse([]byte(badSrc), "agent.hcl")
	var buf bytes.Buffer
	WriteDiagnostics(&buf, cfg.Files, diags[:1], false)
	want := `agent.hcl:2:14: Error: Invalid duration

  on agent.hcl line 2, in agent:
   2:   interval = "soon"

"soon" is not a duration; write a number followed by a unit (ms, s, m or h), such as "30s", "5m" or "1h30m".

`
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("text (-want +got):\n%s", diff)
	}
}
