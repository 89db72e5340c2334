// Package release is the format of a Vigil plugin release and the code
// that makes, checks and opens one: an ed25519 publisher key pair, one
// deterministic tar.gz archive per os/arch holding the plugin binary
// (plus an optional README.md and LICENSE), a SHA256SUMS file over the
// archives, the publisher's signature over SHA256SUMS, and a bounded
// unpacker that refuses anything but plain files inside its destination.
//
// Plugin authors (`vigil plugin package`), the registry's evaluator and
// `vigil install` all build on it, which is why it lives in the SDK module
// rather than in agent/ or registry/. It is not a downloader, a lock file
// or a trust policy: which keys to trust and where archives come from is
// the caller's business. It imports only the standard library.
package release
