package sdk

import (
	"errors"
	"fmt"
	"strings"
)

// Severity of a Diagnostic.
type Severity int

// Diagnostic severities.
const (
	SeverityError Severity = iota + 1
	SeverityWarning
)

// Diagnostic is a configuration problem reported as data, so it can cross
// the wire and be shown against the user's own config file. Path is the
// attribute path inside the method's configuration (e.g. ["urls", "0"]).
type Diagnostic struct {
	Severity Severity
	Summary  string
	Detail   string
	Path     []string
}

// Diagnostics is a list of Diagnostic; as an error it is non-nil only when
// it holds at least one diagnostic.
type Diagnostics []Diagnostic

// Errorf returns an error diagnostic about the attribute at path.
func Errorf(path []string, summary, detailFormat string, args ...any) Diagnostic {
	return Diagnostic{Severity: SeverityError, Summary: summary, Detail: fmt.Sprintf(detailFormat, args...), Path: path}
}

// AttributeError returns an error that reports a problem with one
// configuration attribute; return it from a Collector's or Promise's New.
func AttributeError(attr, summary, detailFormat string, args ...any) error {
	return Diagnostics{Errorf([]string{attr}, summary, detailFormat, args...)}
}

// HasErrors reports whether any diagnostic is an error.
func (d Diagnostics) HasErrors() bool {
	for _, x := range d {
		if x.Severity == SeverityError {
			return true
		}
	}
	return false
}

func (d Diagnostics) Error() string {
	parts := make([]string, 0, len(d))
	for _, x := range d {
		s := x.Summary
		if len(x.Path) > 0 {
			s = strings.Join(x.Path, ".") + ": " + s
		}
		if x.Detail != "" {
			s += ": " + x.Detail
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// AsDiagnostics turns any error into Diagnostics: Diagnostics found with
// errors.As are returned as they are, anything else becomes one error
// diagnostic without a path.
func AsDiagnostics(err error) Diagnostics {
	if err == nil {
		return nil
	}
	var d Diagnostics
	if errors.As(err, &d) {
		return d
	}
	return Diagnostics{{Severity: SeverityError, Summary: "Invalid configuration", Detail: err.Error()}}
}
