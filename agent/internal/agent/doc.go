// Package agent composes the running agent from its parts: it turns a
// decoded agent.hcl into a Set — supervised plugins that were fingerprinted
// and configured, executable promises, the tasks the scheduler runs, and
// the pipeline with its outputs — and runs it as a daemon (with ordered
// shutdown and SIGHUP reload) or once (--once, --test).
//
// Each part lives in its own package (supervisor, scheduler, pipeline,
// execpromise, promise); this package only wires them together and owns
// their lifecycle order: sources stop first, then the pipeline drains, then
// plugins stop.
package agent
