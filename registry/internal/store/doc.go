// Package store is the registry's catalog: publishers and their signing
// keys, plugins, credentials, releases with their artifacts, signature,
// evaluation reports and state history; and the fleet state ingest keeps
// (batch id claims, with the registry process that owns each and whether its
// batch is stored; nodes; the latest value of every series field and the
// latest result of every promise). It declares the domain types, the
// release state machine (Transition, the one place that says which state
// changes are allowed) and the small interfaces the HTTP layer consumes,
// composed into Store for construction.
//
// It is not a backend: store/sqlite (embedded, the default) and
// store/postgres implement Store, and store/storetest is the one
// conformance suite both must pass. It holds no artifacts (those live in a
// directory; the store records their paths and hashes) and decides no
// permissions (who may call what is the HTTP layer's job; RequiresAdmin
// only says which transitions are the admin's). It is not the metrics
// store: point history lives in registry/internal/metrics, the fleet state
// only keeps the newest of each.
package store
