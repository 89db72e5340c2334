package sdk

import "fmt"

// Status is a promise status with Nagios's exit-code numbering.
type Status int

// The four statuses, numbered as Nagios exit codes.
const (
	OK       Status = 0
	Warning  Status = 1
	Critical Status = 2
	Unknown  Status = 3
)

func (s Status) String() string {
	switch s {
	case OK:
		return "OK"
	case Warning:
		return "WARNING"
	case Critical:
		return "CRITICAL"
	case Unknown:
		return "UNKNOWN"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Failed reports whether s counts as a failure (CRITICAL or UNKNOWN).
// WARNING is not a failure.
func (s Status) Failed() bool { return s == Critical || s == Unknown }

// Result is the outcome of one promise check.
type Result struct {
	Status     Status
	Message    string // one line shown to people
	LongOutput string // optional further lines
	Perfdata   []Perfdata
}

// Perfdata is one Nagios performance-data item:
// 'label'=value[UOM];[warn];[crit];[min];[max].
type Perfdata struct {
	Label   string
	Value   float64
	Unknown bool   // the value was "U": kept, but no metric point
	Unit    string // "", s, ms, us, %, B, KB, MB, GB, TB, c
	Warn    string // threshold range, verbatim
	Crit    string
	Min     *float64
	Max     *float64
}

// Resultf returns a Result with a formatted message.
func Resultf(s Status, format string, args ...any) Result {
	return Result{Status: s, Message: fmt.Sprintf(format, args...)}
}
