// Package pipeline carries encoded points from the agent's plugins to its
// outputs: it tags and encodes each plugin batch into a shared line-protocol
// buffer (package lineproto), cuts that buffer into batches by size or time,
// gives each batch a unique id, and hands every batch to each output's own
// queue and goroutine, with retries, so that a slow or failing output never
// blocks the plugins or the other outputs. It provides the registry,
// influxdb, file and stdout outputs.
//
// It is not the scheduler (callers call Write), does not compress except
// where an output's protocol asks for it, and keeps batches on disk only
// for the outputs wrapped with Spooled (the disk format is package
// internal/spool).
//
// # Queues
//
// Each output's worker reads its batches from a queue (queue.go): push
// adds a batch and may evict old ones, next blocks for the oldest, done
// tells the queue a batch was delivered or given up on, close ends it.
//
// The memory queue (the default) holds Config.QueueBatches batches,
// evicts the oldest when full and loses what it holds at exit; its worker
// retries an error Config.MaxRetries times, then gives the batch up
// (Failed).
//
// An output wrapped with Spooled(out, SpoolConfig{Dir, MaxBytes, ...}) gets
// a spool queue instead (spooled.go): push hands the batch to an appender
// goroutine that appends it to the spool in Dir, fsynced, and releases the
// buffer; next reads the oldest batch back; the worker acknowledges a batch
// once it is delivered or quarantined. Batches a previous run left in the
// spool are delivered first, with the ids they were cut with. Such an
// output is lossless: errors are retried forever with backoff (full
// jitter, capped at Config.RetryMax, at least a server's RetryAfter); a
// Permanent error quarantines the batch as <id>.lp and <id>.json in
// SpoolConfig.QuarantineDir (bounded, counted in Quarantined); at Close it
// delivers while the output takes batches and leaves the rest in the
// spool. Only a full spool loses batches, the oldest, counted in Dropped
// and logged once per streak. Push waits (and so does Write) only if the
// disk falls 16 batches behind.
//
// Flush waits for "every batch cut so far": batches carry their cut
// sequence number (recovered from the id for batches read back from a
// spool), and a spool hands batches out in push order.
//
// # Batch ids
//
// A batch id is 32 hex digits: 8 random bytes per Pipeline, then the
// batch's sequence number. Outputs that implement BatchWriter receive it
// (the registry output sends it as Vigil-Batch-Id), unchanged across
// retries and restarts, so receivers can drop replays.
package pipeline
