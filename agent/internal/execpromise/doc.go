// Package execpromise runs one executable promise (a Nagios plugin or a
// SlapOS-style script) and turns how the process ended into a run record:
// status, failed flag, message and parsed perfdata, per PROMISES.md G.3–G.4.
//
// The process gets a clean environment, its own process group, one bounded
// buffer for stdout and stderr together, and a timeout that ends the whole
// group (SIGTERM, grace, SIGKILL). The package is Unix-only.
//
// It is not the scheduler (when to run), the promise state (history,
// windows, flapping) nor the bang action; those consume its Record. Output
// parsing is agent/internal/perfdata.
package execpromise
