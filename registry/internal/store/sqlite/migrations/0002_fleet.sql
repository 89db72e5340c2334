-- Fleet state kept by ingest: the batch ids already taken (to drop
-- replays), the nodes, the latest value of every field of every series and
-- the latest result of every promise. Registry-clock times (seen_at,
-- first_seen, last_seen) are Unix microseconds like the catalog's; point
-- times (time_ns) are Unix nanoseconds, as line protocol carries them.
-- Keep in step with postgres/migrations/0002_fleet.sql.
CREATE TABLE ingest_batches (
	node    TEXT    NOT NULL,
	id      TEXT    NOT NULL,
	seen_at INTEGER NOT NULL,
	PRIMARY KEY (node, id)
) STRICT, WITHOUT ROWID;
CREATE INDEX ingest_batches_seen_at ON ingest_batches (seen_at);

CREATE TABLE nodes (
	name          TEXT    PRIMARY KEY,
	agent_version TEXT    NOT NULL,
	tags          TEXT    NOT NULL CHECK (json_valid(tags)),
	inventory     TEXT    CHECK (json_valid(inventory)),
	first_seen    INTEGER NOT NULL,
	last_seen     INTEGER NOT NULL
) STRICT;

-- value holds the Go value as text (strconv's round-tripping formats);
-- kind says which Go type it decodes to.
CREATE TABLE latest_values (
	node        TEXT    NOT NULL,
	measurement TEXT    NOT NULL,
	tags        TEXT    NOT NULL,
	field       TEXT    NOT NULL,
	kind        TEXT    NOT NULL CHECK (kind IN ('float', 'int', 'uint', 'bool', 'string')),
	value       TEXT    NOT NULL,
	time_ns     INTEGER NOT NULL,
	PRIMARY KEY (node, measurement, tags, field)
) STRICT, WITHOUT ROWID;

CREATE TABLE promise_results (
	node        TEXT    NOT NULL,
	plugin      TEXT    NOT NULL,
	promise     TEXT    NOT NULL,
	status      INTEGER NOT NULL CHECK (status BETWEEN 0 AND 3),
	message     TEXT    NOT NULL,
	anomaly     INTEGER NOT NULL CHECK (anomaly IN (0, 1)),
	duration_ms REAL    NOT NULL,
	time_ns     INTEGER NOT NULL,
	PRIMARY KEY (node, plugin, promise)
) STRICT, WITHOUT ROWID;
