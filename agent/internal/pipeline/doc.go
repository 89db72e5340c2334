// Package pipeline carries encoded points from the agent's plugins to its
// outputs: it tags and encodes each plugin batch into a shared line-protocol
// buffer (package lineproto), cuts that buffer into batches by size or time,
// and hands every batch to each output's own queue and goroutine, with
// retries, so that a slow or failing output never blocks the plugins or the
// other outputs. It provides the stdout, file and influxdb outputs.
//
// It is not the scheduler (callers call Write), does not compress except
// where an output's protocol asks for it, and does not persist anything:
// queues live in memory and are lost on exit.
//
// # Queues and the disk spool
//
// Each output's worker reads its batches from a queue (queue.go): push
// adds a batch and may evict old ones, next blocks for the oldest, done
// tells the queue a batch was delivered or given up on, close ends it. The
// memory queue evicts the oldest batch when full and forgets a batch as
// soon as next returns it. A disk spool replaces it for one output by
// implementing the same four methods: push appends the batch to a segment
// file (and releases the in-memory buffer), next reads the oldest
// unacknowledged batch back, done acknowledges it so the segment can be
// deleted, and close syncs. Batches carry a sequence number so Flush can
// wait for "everything pushed so far"; a spool must hand batches out in
// push order. The worker, retries and statistics are shared, so the change
// is confined to choosing the queue in New (e.g. a Config field naming the
// outputs to spool and the spool directory).
package pipeline
