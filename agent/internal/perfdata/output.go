package perfdata

import (
	"strings"

	"github.com/vigilmon/vigil/sdk"
)

// Output is plugin output split as Nagios splits it.
type Output struct {
	// Summary is the first line's text before "|", trimmed. It is always the
	// first line, even when a plugin printed an error before its status line.
	Summary string
	// LongOutput is the text of the following lines up to the line holding
	// the second "|", with trailing spaces and surrounding blank lines removed.
	LongOutput string
	// Perfdata holds the well-formed items in the order they appeared.
	Perfdata []sdk.Perfdata
	// Errors holds one *ItemError per malformed item; those items are skipped.
	Errors []error
}

// Parse splits plugin output in the Nagios multi-line format:
//
//	TEXT OUTPUT | OPTIONAL PERFDATA
//	LONG TEXT LINE 1
//	LONG TEXT LINE N | PERFDATA LINE 2
//	PERFDATA LINE 3
//
// Perfdata may thus follow "|" on the first line and after the first "|" of a
// later line, from which point every further line is perfdata.
func Parse(output string) Output {
	lines := strings.Split(output, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	var out Output
	text, perf, _ := strings.Cut(lines[0], "|")
	out.Summary = strings.TrimSpace(text)
	out.addPerf(perf)

	var long []string
	rest := lines[1:]
	for i, l := range rest {
		text, perf, found := strings.Cut(l, "|")
		long = append(long, strings.TrimRight(text, " \t"))
		if !found {
			continue
		}
		out.addPerf(perf)
		for _, p := range rest[i+1:] {
			out.addPerf(p)
		}
		break
	}
	out.LongOutput = strings.Trim(strings.Join(long, "\n"), "\n")
	return out
}

// addPerf parses one line's worth of perfdata. Lines are parsed separately so
// that a quoted label never spans two lines.
func (o *Output) addPerf(s string) {
	items, errs := parseItems(s)
	o.Perfdata = append(o.Perfdata, items...)
	o.Errors = append(o.Errors, errs...)
}
