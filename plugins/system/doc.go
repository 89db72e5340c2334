// Command system is Vigil's first-party host metrics plugin: CPU, memory,
// swap, disk usage, disk I/O, network interfaces, load and uptime, read
// from /proc (and statfs for disk usage) on Linux.
//
// It is built on github.com/vigilmon/vigil/sdk exactly as a third-party
// plugin would be, imports nothing else of the repository and no
// third-party module. It collects metrics only; it checks nothing (the
// process and net plugins hold promises).
package main
