// Command idle measures target (c) of the performance issue: the agent and
// the three first-party plugins (system, process, net) loaded and idle at
// their interval. It runs the real binaries in a temporary agent directory
// and samples VmRSS and CPU time from /proc; it changes nothing outside
// that directory and stops by itself. Run it from the repository as
//
//	go run ./test/bench/idle --duration 60s
//
// It is a measurement, not a test: it asserts nothing, and reports a
// verdict against the targets in its output and exit status.
package main
