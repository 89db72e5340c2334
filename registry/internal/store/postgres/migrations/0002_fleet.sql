-- Fleet state kept by ingest: the batch ids already taken (to drop
-- replays), the nodes, the latest value of every field of every series and
-- the latest result of every promise. Registry-clock times (seen_at,
-- first_seen, last_seen) are Unix microseconds like the catalog's; point
-- times (time_ns) are Unix nanoseconds, as line protocol carries them.
-- Names sort bytewise (COLLATE "C"), as in SQLite, whatever the database's
-- locale. Keep in step with sqlite/migrations/0002_fleet.sql.
CREATE TABLE ingest_batches (
	node    TEXT COLLATE "C" NOT NULL,
	id      TEXT COLLATE "C" NOT NULL,
	seen_at BIGINT           NOT NULL,
	PRIMARY KEY (node, id)
);
CREATE INDEX ingest_batches_seen_at ON ingest_batches (seen_at);

CREATE TABLE nodes (
	name          TEXT COLLATE "C" PRIMARY KEY,
	agent_version TEXT             NOT NULL,
	tags          JSON             NOT NULL,
	inventory     JSON,
	first_seen    BIGINT           NOT NULL,
	last_seen     BIGINT           NOT NULL
);

-- value holds the Go value as text (strconv's round-tripping formats);
-- kind says which Go type it decodes to. Rows are updated in place every
-- few seconds and never change key: fillfactor leaves room on each page
-- for the new version, so updates stay HOT (no index write), which about
-- doubles PutLatest's rate.
CREATE TABLE latest_values (
	node        TEXT COLLATE "C" NOT NULL,
	measurement TEXT COLLATE "C" NOT NULL,
	tags        TEXT COLLATE "C" NOT NULL,
	field       TEXT COLLATE "C" NOT NULL,
	kind        TEXT             NOT NULL CHECK (kind IN ('float', 'int', 'uint', 'bool', 'string')),
	value       TEXT             NOT NULL,
	time_ns     BIGINT           NOT NULL,
	PRIMARY KEY (node, measurement, tags, field)
) WITH (fillfactor = 50);

CREATE TABLE promise_results (
	node        TEXT COLLATE "C" NOT NULL,
	plugin      TEXT COLLATE "C" NOT NULL,
	promise     TEXT COLLATE "C" NOT NULL,
	status      INTEGER          NOT NULL CHECK (status BETWEEN 0 AND 3),
	message     TEXT             NOT NULL,
	anomaly     BOOLEAN          NOT NULL,
	duration_ms DOUBLE PRECISION NOT NULL,
	time_ns     BIGINT           NOT NULL,
	PRIMARY KEY (node, plugin, promise)
) WITH (fillfactor = 50);
