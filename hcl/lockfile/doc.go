// Package lockfile reads and edits vigil.lock.hcl, the record of each
// installed plugin's exact version, source, trusted signing key and the
// sha256 hashes of its binary (and downloaded archive) per platform.
//
// Edits go through hclwrite on the parsed file, so comments and blocks the
// edit does not touch survive; Save replaces the file atomically.
//
// It is not the installer: it downloads, verifies and unpacks nothing; the
// agent compares a plugin binary's HashFile with the lock before every
// exec, and `vigil install` / `vigil uninstall` call Set and Remove. It
// builds on github.com/hashicorp/hcl/v2 (hclsyntax to decode with
// diagnostics, hclwrite to edit).
package lockfile
