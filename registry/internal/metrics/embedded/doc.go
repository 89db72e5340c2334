// Package embedded is the registry's default metrics store: points kept in
// the data directory, nothing to install. A Write is appended to a
// write-ahead log (one fsync shared by every writer waiting at that moment)
// and then, in log order, to an in-memory head of compressed per-series
// chunks, so it is durable and queryable when it returns. A background
// flusher moves full or old head chunks into SQLite (modernc.org/sqlite, WAL
// mode, one writer connection) as rows of a chunks table beside a series
// dictionary, and deletes the log segments whose every point is in SQLite. A retention loop
// deletes chunks older than the retention period. Open replays the log, so a
// crash (kill -9) loses nothing that was acknowledged.
//
// It is not the query API or the ingest path: it implements metrics.Store
// and nothing else. It never talks to the network.
package embedded
