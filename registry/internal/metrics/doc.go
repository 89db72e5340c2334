// Package metrics is the registry's time-series store contract: the decoded
// Point that ingest hands over, the Query the read API asks, and the Store
// interface both backends implement. metrics/embedded keeps points in
// SQLite in the data directory (the default, nothing to install);
// metrics/influx forwards them to a real InfluxDB through a durable queue.
// metrics/metricstest is the one conformance suite both must pass, so that
// a query answers the same whichever backend is configured.
//
// It is not the ingest path (package ingest decodes, authenticates and
// deduplicates before calling Write), and it holds no fleet state (nodes,
// latest values, promise results live in the catalog store).
package metrics
