// Command ingest is `make bench-ingest`: a load generator that measures
// how fast line protocol is ingested, in one command, by (1) a real
// InfluxDB 1.x on this machine, (2) vigil-registry with its embedded
// metrics store and (3) vigil-registry forwarding to that InfluxDB; and,
// with --soak, a long run of many small agents against the embedded
// registry. Run it from the repository as
//
//	go run ./test/bench/ingest --duration 30s
//	go run ./test/bench/ingest --soak --duration 2m
//
// Simulated agents each have their own node name, agent token and series
// (cpu, mem, disk; procstat in the soak), with the fields plugins/system
// writes (--points system, the default) or 3 a point (--points light, the
// bench's points before 2026-12; the soak's), and run an approved release of
// the first-party plugin system, as a real fleet does: before the clock
// starts, each registry is given that release the real way (the vigil
// and vigil-registry command lines of scripts/run.sh: publisher token,
// signing key, register, package, publish with its evaluation, approve),
// every agent reports its inventory (PUT /v1/nodes/{node}/inventory), and
// a probe point tagged plugin=system must come back from the query API
// without the unapproved tag, or the phase fails. vigil is built and the
// release packaged once per run, then published into each phase's fresh
// registry.
//
// Every request body is generated and gzipped (with the agent's
// compressor, klauspost's level-1 gzip) before the clock starts, so
// the generator's own CPU is small (and reported). Each phase gets a
// fresh data directory and a fresh influxd, stops by itself, and every
// child process is killed when the command exits, even on an error or ^C
// (own process group, and Pdeathsig if the command itself dies).
//
// It prints, per phase, points/s acknowledged (and for forward, landed in
// InfluxDB), server CPU and RSS from /proc, request latency and errors by
// status, then the ratios against the targets of issue 4. It is a
// measurement, not a test: its exit status says whether the targets were
// met (0), missed (3), the measurement failed (1) or the usage was wrong
// (2). It is not a Go benchmark and changes nothing outside its temporary
// directory.
package main
