// Package httpapi is the registry's JSON API under /v1, as docs/api.md
// describes it: a net/http handler that authenticates bearer tokens,
// checks every request's role and scope in one table (authz.go), limits
// bodies, stores published releases in the artifact directory and hands
// them to the evaluation queue.
//
// It is not the HTTP server (timeouts and shutdown belong to the command
// that runs it), the catalog (registry/internal/store) or the evaluator
// (registry/internal/evaluate, run by registry/internal/evalqueue).
package httpapi
