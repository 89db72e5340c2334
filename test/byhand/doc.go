// Package byhand installs a plugin binary the way an operator could by
// hand: copied into the agent's plugin directory and its hash recorded in
// the lock file, without the binary ever being run (so even a plugin whose
// handshake is broken can be installed); it is not `vigil install`, which
// starts the plugin and reads its manifest.
package byhand
