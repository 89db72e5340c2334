// Command net is Vigil's first-party network check plugin: the promises
// "tcp" (connect, optionally send and expect) and "http" (status, body,
// latency and certificate expiry), with Nagios check_tcp / check_http
// style output and latency as perfdata.
//
// It is built on github.com/vigilmon/vigil/sdk exactly as a third-party
// plugin would be, imports nothing else of the repository and no
// third-party module, and has no collector: interface counters are the
// system plugin's net collector.
package main
