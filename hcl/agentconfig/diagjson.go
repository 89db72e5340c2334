package agentconfig

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/hashicorp/hcl/v2"
)

// WriteDiagnostics renders diags as text, each with the source snippet it
// points at (files maps file names to parsed files, such as Config.Files),
// in color when color is set. It is for a terminal: a failed write is
// not reported.
func WriteDiagnostics(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics, color bool) {
	tw := hcl.NewDiagnosticTextWriter(w, files, 0, color)
	for _, d := range diags {
		// hcl's writer names only the line; lead with file:line:col so
		// editors and terminals can jump to the spot.
		if s := d.Subject; s != nil {
			fmt.Fprintf(w, "%s:%d:%d: ", s.Filename, s.Start.Line, s.Start.Column)
		}
		_ = tw.WriteDiagnostic(d)
	}
}

// jsonDiagnostics is the JSON shape of a set of diagnostics, as printed by
// `vigil config validate -json`.
type jsonDiagnostics struct {
	Valid        bool             `json:"valid"`
	ErrorCount   int              `json:"error_count"`
	WarningCount int              `json:"warning_count"`
	Diagnostics  []jsonDiagnostic `json:"diagnostics"`
}

type jsonDiagnostic struct {
	Severity string     `json:"severity"` // "error" or "warning"
	Summary  string     `json:"summary"`
	Detail   string     `json:"detail,omitempty"`
	Range    *jsonRange `json:"range,omitempty"`
}

type jsonRange struct {
	Filename string  `json:"filename"`
	Start    jsonPos `json:"start"`
	End      jsonPos `json:"end"`
}

type jsonPos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// DiagnosticsJSON encodes diags as
// {"valid":…,"error_count":…,"warning_count":…,"diagnostics":[…]}, each
// diagnostic with its severity, summary, detail and, when it has one, the
// range of its subject.
func DiagnosticsJSON(diags hcl.Diagnostics) ([]byte, error) {
	out := jsonDiagnostics{Diagnostics: make([]jsonDiagnostic, 0, len(diags))}
	for _, d := range diags {
		jd := jsonDiagnostic{Severity: "error", Summary: d.Summary, Detail: d.Detail}
		if d.Severity == hcl.DiagWarning {
			jd.Severity = "warning"
			out.WarningCount++
		} else {
			out.ErrorCount++
		}
		if s := d.Subject; s != nil {
			jd.Range = &jsonRange{
				Filename: s.Filename,
				Start:    jsonPos{Line: s.Start.Line, Column: s.Start.Column, Byte: s.Start.Byte},
				End:      jsonPos{Line: s.End.Line, Column: s.End.Column, Byte: s.End.Byte},
			}
		}
		out.Diagnostics = append(out.Diagnostics, jd)
	}
	out.Valid = out.ErrorCount == 0
	return json.Marshal(out)
}
