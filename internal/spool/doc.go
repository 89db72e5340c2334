// Package spool is a durable, bounded FIFO of records on disk: what an
// agent output (or the registry's forwarder) keeps between accepting a
// batch and delivering it, so that outages, crashes and restarts lose
// nothing that was accepted.
//
// Records live in segment files named after the sequence number of their
// first record (%020d.seg). Each record is framed as
//
//	magic "VSP1" | length uint32 | crc uint32 | seq uint64 | count int64 | id length uint8 | id | data
//
// (big endian), where length covers everything after crc and crc is the
// CRC-32C (Castagnoli) of data followed by the length and the header. Open
// scans the segments: a torn or corrupt record ends its segment, which is
// truncated there; what followed is counted in Stats.Corrupt and never
// handed out. Append fsyncs before it returns (concurrent Appends share
// one fsync). Ack moves the "done up to" point, persisted in the file ack
// (rewritten atomically), and deletes segments once every record in them
// is done. When Options.MaxBytes would be exceeded, Append drops the
// oldest segments first, acknowledged or not, and says how many records it
// dropped, or, with Options.RefuseWhenFull, refuses the record (ErrFull). Memory holds an index of segments and the records handed out
// but not yet acknowledged, never the records themselves.
//
// One process at a time: Open takes an exclusive lock (flock) on
// <dir>/lock. It is not a queue of typed values (callers frame their own
// data) and does not retry or deliver anything.
package spool
