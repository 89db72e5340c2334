package perfdata

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/vigilmon/vigil/sdk"
)

// ItemError reports one malformed perfdata item. The item is skipped; the
// items around it are still parsed.
type ItemError struct {
	Item   string // the item as printed, shortened if very long
	Reason string
}

func (e *ItemError) Error() string {
	return fmt.Sprintf("malformed perfdata item %q: %s", e.Item, e.Reason)
}

// maxItemInError bounds how much of a malformed item an ItemError quotes.
const maxItemInError = 120

func itemError(item, reason string) *ItemError {
	if len(item) > maxItemInError {
		item = strings.ToValidUTF8(item[:maxItemInError], "") + "..."
	}
	return &ItemError{Item: item, Reason: reason}
}

// parseItems parses whitespace-separated items of the form
// 'label'=value[UOM];[warn];[crit];[min];[max].
func parseItems(s string) ([]sdk.Perfdata, []error) {
	var items []sdk.Perfdata
	var errs []error
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			return items, errs
		}
		start := i
		label, next, reason := scanLabel(s, i)
		if reason != "" {
			end := nextSpace(s, next)
			errs = append(errs, itemError(s[start:end], reason))
			i = end
			continue
		}
		end := nextSpace(s, next)
		i = end
		p, reason := parseData(label, s[next:end])
		if reason != "" {
			errs = append(errs, itemError(s[start:end], reason))
			continue
		}
		items = append(items, p)
	}
}

// scanLabel reads a label and its "=" from s[i:]. It returns the label, the
// index just after "=", and a reason when the label is malformed (then next
// is where skipping to the next item may start).
func scanLabel(s string, i int) (label string, next int, reason string) {
	if s[i] != '\'' {
		j := i
		for j < len(s) && !isSpace(s[j]) && s[j] != '=' {
			j++
		}
		if j >= len(s) || s[j] != '=' {
			return "", j, "missing '='"
		}
		if j == i {
			return "", j, "empty label"
		}
		return s[i:j], j + 1, ""
	}
	var b strings.Builder
	j := i + 1
	for {
		if j >= len(s) {
			return "", i, "unterminated quoted label"
		}
		if s[j] == '\'' {
			if j+1 < len(s) && s[j+1] == '\'' {
				b.WriteByte('\'')
				j += 2
				continue
			}
			j++
			break
		}
		b.WriteByte(s[j])
		j++
	}
	if j >= len(s) || s[j] != '=' {
		return "", j, "missing '=' after quoted label"
	}
	if b.Len() == 0 {
		return "", j, "empty label"
	}
	return b.String(), j + 1, ""
}

// parseData parses value[UOM];[warn];[crit];[min];[max].
func parseData(label, data string) (sdk.Perfdata, string) {
	p := sdk.Perfdata{Label: label}
	fields := strings.Split(data, ";")
	for _, f := range fields[min(len(fields), 5):] {
		if f != "" {
			return p, "more than 5 fields"
		}
	}
	v := fields[0]
	switch {
	case v == "":
		return p, "missing value"
	case v[0] == 'U':
		p.Unknown = true
		p.Unit = v[1:]
	default:
		n := scanNumber(v)
		if n == 0 {
			return p, "value is not a number"
		}
		f, err := strconv.ParseFloat(v[:n], 64)
		if err != nil {
			return p, "value out of range"
		}
		p.Value, p.Unit = f, v[n:]
	}
	// A unit must not read as part of the number ("5..5", "1e5e5", "3-2").
	if p.Unit != "" && (strings.ContainsAny(p.Unit[:1], "0123456789.+-") || scanNumber("0"+p.Unit) > 1) {
		return p, "value is not a number"
	}
	if len(fields) > 1 {
		p.Warn = fields[1]
	}
	if len(fields) > 2 {
		p.Crit = fields[2]
	}
	var reason string
	if len(fields) > 3 {
		if p.Min, reason = parseBound(fields[3], p.Unit); reason != "" {
			return p, "min " + reason
		}
	}
	if len(fields) > 4 {
		if p.Max, reason = parseBound(fields[4], p.Unit); reason != "" {
			return p, "max " + reason
		}
	}
	return p, ""
}

// parseBound parses a min or max field: empty, or a number, optionally
// followed by the value's own unit.
func parseBound(f, unit string) (*float64, string) {
	if f == "" {
		return nil, ""
	}
	if unit != "" {
		f = strings.TrimSuffix(f, unit)
	}
	if n := scanNumber(f); n == 0 || n != len(f) {
		return nil, "is not a number"
	}
	v, err := strconv.ParseFloat(f, 64)
	if err != nil {
		return nil, "out of range"
	}
	return &v, ""
}

// scanNumber returns the length of the decimal number at the start of s
// ([+-]digits[.digits][e[+-]digits]), or 0 if there is none.
func scanNumber(s string) int {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && isDigit(s[i]) {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
			digits++
		}
	}
	if digits == 0 {
		return 0
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		k := j
		for k < len(s) && isDigit(s[k]) {
			k++
		}
		if k > j {
			i = k
		}
	}
	return i
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func nextSpace(s string, i int) int {
	for i < len(s) && !isSpace(s[i]) {
		i++
	}
	return i
}

// Format prints items as Nagios perfdata, space-separated, quoting labels
// where needed and dropping trailing empty fields. Parse reads it back.
func Format(items []sdk.Perfdata) string {
	var b strings.Builder
	for i, p := range items {
		if i > 0 {
			b.WriteByte(' ')
		}
		if p.Label == "" || strings.ContainsAny(p.Label, " \t\n\r\v\f'=") {
			b.WriteString("'" + strings.ReplaceAll(p.Label, "'", "''") + "'")
		} else {
			b.WriteString(p.Label)
		}
		b.WriteByte('=')
		if p.Unknown {
			b.WriteByte('U')
		} else {
			b.WriteString(formatFloat(p.Value))
		}
		b.WriteString(p.Unit)
		fields := []string{p.Warn, p.Crit, formatBound(p.Min), formatBound(p.Max)}
		n := len(fields)
		for n > 0 && fields[n-1] == "" {
			n--
		}
		for _, f := range fields[:n] {
			b.WriteString(";" + f)
		}
	}
	return b.String()
}

func formatBound(v *float64) string {
	if v == nil {
		return ""
	}
	return formatFloat(*v)
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
