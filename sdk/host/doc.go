// Package host launches a Vigil plugin binary and calls it: the side of
// the protocol that the agent, the registry's evaluator and tests use.
//
// Launch verifies the binary's sha256 before exec (go-plugin SecureConfig),
// starts it with a clean environment (an allow-list of the host's variables),
// in its own process group, with the kernel told to kill it when the host
// dies, its socket in a short per-host directory, and optionally AutoMTLS.
// The plugin's JSON log lines on stderr are re-levelled into the host's
// hclog logger under the plugin's name. A plugin that dies is noticed at
// once: Exited is closed as soon as its connection drops.
//
// The package does not supervise: restarting with backoff is the caller's
// policy (the agent's supervisor).
package host
