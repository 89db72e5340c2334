// Package bench measures Vigil against the core's speed targets with the
// real parts: a plugin built from test/plugins/counter launched over real
// go-plugin (checksum verified), the agent's own encoder and pipeline, and
// the real `vigil` binary. It holds benchmarks only; they report figures
// and assert no wall-clock limit. docs/performance.md says what each
// figure means and how to reproduce it.
//
// It lives under agent/ so it can use the agent's internal packages; the
// idle-resources command is test/bench/idle.
package bench
