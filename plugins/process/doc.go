// Command process is Vigil's first-party process plugin: per-process
// metrics (collector "process") and a Nagios check_procs-like promise
// ("running") for the processes selected by command name, command line,
// pid file or user, read from /proc on Linux.
//
// It is built on github.com/vigilmon/vigil/sdk exactly as a third-party
// plugin would be and imports nothing else of the repository and no
// third-party module. It does not start, stop or restart processes: a
// promise's bang action does that.
package main
