// Package store is the registry's catalog: publishers and their signing
// keys, plugins, credentials, releases with their artifacts, signature,
// evaluation reports and state history. It declares the domain types, the
// release state machine (Transition, the one place that says which state
// changes are allowed) and the small interfaces the HTTP layer consumes,
// composed into Store for construction.
//
// It is not a backend: store/sqlite (embedded, the default) and
// store/postgres implement Store, and store/storetest is the one
// conformance suite both must pass. It holds no artifacts (those live in a
// directory; the store records their paths and hashes) and decides no
// permissions (who may call what is the HTTP layer's job; RequiresAdmin
// only says which transitions are the admin's).
package store
