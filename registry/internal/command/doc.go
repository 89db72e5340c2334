// Package command is the `vigil-registry` command line: `serve`, which runs
// the registry, and the admin commands that talk to a running registry
// over its /v1 API (token create, releases, approve, reject, withdraw,
// abandon, delete). One small type per subcommand, all registered in the table of
// Commands; each parses its arguments with pflag into a typed struct and
// prints a human or a JSON view to the streams in Meta.
//
// It is the registry's own command line and shares no code with the
// agent's (agent/internal/command): the two sides meet only on the wire.
package command
