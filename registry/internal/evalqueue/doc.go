// Package evalqueue runs release evaluations in the background, a bounded
// number at a time: it moves a release pending → evaluating, calls the
// evaluator on the release's directory in the artifact store, records the
// report and moves the release to passed or failed. On start it re-queues
// releases a previous run left pending or evaluating; on shutdown it
// cancels running evaluations and puts their releases back to pending.
//
// It is not the evaluator (registry/internal/evaluate) nor the HTTP API
// that enqueues published releases (registry/internal/httpapi).
package evalqueue
