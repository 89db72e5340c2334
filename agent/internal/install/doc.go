// Package install places plugins in the agent's plugin directory and
// records them in the lock file. This first piece installs a plugin binary
// from a local file (a plugin under development, or `make run`'s freshly
// built first-party plugins); installing from the registry builds on it.
//
// Whatever is recorded is exactly what was run to read its manifest and
// what was installed: the file is copied first and the copy is hashed,
// launched with that hash pinned, and moved into place. The plugin's name
// and version are checked before they become directory names. It does not
// run plugins afterwards; the agent's supervisor does, after verifying the
// hash the lock file records.
package install
