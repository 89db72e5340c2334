// Package perfdata parses the text a Nagios plugin prints: the summary line,
// the long output and the performance data after "|" (the Nagios plugin API,
// including the multi-line format and quoted labels), and evaluates Nagios
// threshold ranges such as "10:20" or "@~:5".
//
// It is a pure parser of untrusted text: it runs nothing, never fails as a
// whole (malformed perfdata items are reported one by one and skipped), and
// does not decide a status from the text; the exit code does that (see
// agent/internal/execpromise). It builds only on the sdk's Perfdata type.
package perfdata
