// Package fleet keeps the registry's quick views of the fleet up to date
// from ingest: the latest value of every field of every series and the
// latest result of every promise. A Tracker gathers them in memory as
// requests are ingested and writes what changed to the catalog store
// (store.Fleet's PutLatest and PutPromiseResults) when Flush is called,
// every few seconds and on shutdown, so a busy registry does one write
// per series per interval rather than one per point.
//
// It is not the store of those views (store.Fleet), nor ingest, which
// decodes and validates points before handing them to Observe, nor the
// list of nodes: ingest touches and describes nodes itself.
package fleet
