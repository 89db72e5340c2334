// Package influx is the metrics store that forwards points to a real
// InfluxDB 1.x and asks it the queries. Write encodes the points as line
// protocol and appends them to a durable on-disk queue (internal/spool),
// so it returns as soon as they are fsynced, whatever InfluxDB is doing
// (WriteLines takes a batch ingest already holds as line protocol); when
// InfluxDB falls so far behind that the queue is full, Write refuses
// points with a Retry-After rather than drop any it took. A
// forwarder reads the queue, merges records into gzip bodies of about
// BatchPoints points, POSTs them to /write with a few requests in flight,
// retries with backoff what failed for a transient reason (network, 5xx,
// 429 and its Retry-After, credentials) and acknowledges a record only once
// InfluxDB has it, so a crash or a restart forwards the rest. A 400 (a
// partial write, a field type conflict) is counted and logged, never
// retried: InfluxDB stored the good lines. Query translates a
// metrics.Query into InfluxQL over /query.
//
// It is not the ingest path (it gets decoded, checked points) and it does
// not decide retention: that is InfluxDB's retention policy.
package influx
