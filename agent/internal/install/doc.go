// Package install places plugins in the agent's plugin directory and
// records them in the lock file: from a local file (a plugin under
// development, or `make run`'s freshly built first-party plugins), or from
// a registry (FromRegistry), choosing the version by constraints
// (ParseConstraints, Newest). Remove undoes either.
//
// Whatever is recorded is exactly what was run to read its manifest and
// what was installed: the binary is staged on the plugin dir's file system
// and hashed, launched with that hash pinned, and moved into place. The
// plugin's name and version are checked before they become directory
// names. A registry install first downloads SHA256SUMS, its signature and
// the archive into a temporary directory, verifies the signature with a
// trusted key (the registry block's signing_keys, or the key the lock file
// recorded on first use), the archive's sha256, and unpacks it with
// sdk/release's safe Unpack; a failure or interruption leaves no files and
// the lock file untouched. An install killed outright (SIGKILL) leaves its
// locked temporary directory, which the next install removes.
//
// While the plugin runs once to read its manifest, its promise checks are
// configured with their defaults alone, so the plugin itself says which
// can run as they are. Block turns that into the plugin block for
// agent.hcl: collectors with their defaults, those promises enabled, the
// others written commented out with what to set.
//
// It does not talk HTTP (registryclient does, behind the Registry
// interface), write agent.hcl (the command does, with hcl/edit), or run
// plugins afterwards: the agent's supervisor does, after verifying the
// hash the lock file records.
package install
