// Package evaluate is the registry's release evaluator: it takes a release
// as stored (archives, SHA256SUMS and its signature, the publisher's key)
// and runs it for real, producing the Report shown to the publisher and
// the admin. In order: the signature over SHA256SUMS; for every archive
// its checksum, its file name, a bounded safe unpacking and its contents;
// then the archive for the evaluator's own platform is launched with its
// sha256 pinned, its handshake and manifest are checked against the
// release's name and version, and every declared method is configured with
// its schema defaults and called once within a timeout.
//
// It builds on sdk/release (format, signature, unpacking) and sdk/host
// (launching and calling a plugin). It does not store reports, move a
// release between states or schedule evaluations: that is the catalog's
// business. A Report is data: Evaluate never returns an error and never
// panics; every failure is a failed Check whose detail says what to fix.
package evaluate
