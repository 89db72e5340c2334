// Package queryapi serves GET /v1/query/series, the read side of the
// registry's metrics store that the CLI and the dashboard use: it parses
// and checks the query parameters, applies the access rule (the admin reads
// every node, an agent token only its own node), asks a metrics store and
// writes the answer as JSON, refusing answers larger than a sample cap.
//
// It is not the store (metrics/embedded, metrics/influx answer the query)
// and it does not authenticate by itself: the registry's /v1 API lends it
// Authenticate and WriteError, so tokens and error bodies work as on every
// other endpoint (docs/api.md).
package queryapi
