// Package ingest is the registry's write path: POST /v1/write for agents,
// the InfluxDB-compatible POST /write (1.x) and POST /api/v2/write (2.x) for
// existing clients such as Telegraf, /ping and /health as InfluxDB answers
// them, and the node endpoints (PUT /v1/nodes/{node}/inventory, GET
// /v1/nodes, GET /v1/nodes/{node}).
//
// A write is authenticated (an agent token bound to a node, or the admin),
// its body read within limits (gzip or plain, a bounded decompression),
// decoded (an agent's batch, in the plain form, by a fast path proven by
// differential fuzzing to decode as influxdata/line-protocol v2 does; any
// other body by v2 itself) and judged line by line (valid
// point, right node, approved plugin), so that good lines are stored and
// bad ones are answered as line:column: reason, as InfluxDB's partial
// writes are. A replayed batch id is acknowledged and dropped. Good points
// go to the metrics store; the fleet state (nodes seen, latest values,
// promise results) is updated through registry/internal/fleet.
//
// It is not the metrics store (registry/internal/metrics), the catalog
// (registry/internal/store), the /v1 catalog API (registry/internal/httpapi)
// or the HTTP server, whose timeouts and shutdown belong to the command
// that mounts this handler.
package ingest
