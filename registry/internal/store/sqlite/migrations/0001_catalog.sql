-- The catalog: publishers and their keys, plugins, credentials, releases
-- with artifacts, signature, evaluations and state history. Times are Unix
-- microseconds. Keep in step with postgres/migrations/0001_catalog.sql.
CREATE TABLE publishers (
	id      INTEGER PRIMARY KEY,
	name    TEXT    NOT NULL UNIQUE,
	created INTEGER NOT NULL
) STRICT;

CREATE TABLE publisher_keys (
	key_id       TEXT    PRIMARY KEY,
	publisher_id INTEGER NOT NULL REFERENCES publishers (id),
	public_key   BLOB    NOT NULL CHECK (length(public_key) = 32),
	created      INTEGER NOT NULL
) STRICT;
CREATE INDEX publisher_keys_publisher ON publisher_keys (publisher_id);

CREATE TABLE plugins (
	name        TEXT    PRIMARY KEY,
	owner_id    INTEGER NOT NULL REFERENCES publishers (id),
	description TEXT    NOT NULL,
	source_url  TEXT    NOT NULL,
	created     INTEGER NOT NULL
) STRICT;
CREATE INDEX plugins_owner ON plugins (owner_id);

CREATE TABLE credentials (
	id           INTEGER PRIMARY KEY,
	role         TEXT    NOT NULL CHECK (role IN ('admin', 'publisher', 'plugin', 'agent')),
	secret_hash  BLOB    NOT NULL UNIQUE CHECK (length(secret_hash) = 32),
	publisher_id INTEGER REFERENCES publishers (id),
	plugin_name  TEXT    REFERENCES plugins (name),
	node_name    TEXT,
	created      INTEGER NOT NULL,
	revoked      INTEGER,
	CHECK ((role = 'publisher') = (publisher_id IS NOT NULL)),
	CHECK ((role = 'plugin') = (plugin_name IS NOT NULL)),
	CHECK (role = 'agent' OR node_name IS NULL)
) STRICT;

CREATE TABLE releases (
	id       INTEGER PRIMARY KEY,
	plugin   TEXT    NOT NULL REFERENCES plugins (name),
	version  TEXT    NOT NULL,
	state    TEXT    NOT NULL CHECK (state IN ('pending', 'evaluating', 'passed', 'failed',
	                                           'approved', 'rejected', 'withdrawn', 'abandoned')),
	manifest TEXT    NOT NULL CHECK (json_valid(manifest)),
	created  INTEGER NOT NULL,
	UNIQUE (plugin, version)
) STRICT;
CREATE INDEX releases_state ON releases (state);

CREATE TABLE release_artifacts (
	release_id INTEGER NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
	os         TEXT    NOT NULL,
	arch       TEXT    NOT NULL,
	path       TEXT    NOT NULL,
	sha256     TEXT    NOT NULL,
	size       INTEGER NOT NULL CHECK (size >= 0),
	PRIMARY KEY (release_id, os, arch)
) STRICT;

CREATE TABLE release_signatures (
	release_id INTEGER PRIMARY KEY REFERENCES releases (id) ON DELETE CASCADE,
	sha256sums BLOB    NOT NULL,
	signature  BLOB    NOT NULL,
	key_id     TEXT    NOT NULL
) STRICT;

CREATE TABLE evaluations (
	id         INTEGER PRIMARY KEY,
	release_id INTEGER NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
	report     TEXT    NOT NULL CHECK (json_valid(report)),
	started    INTEGER NOT NULL,
	finished   INTEGER NOT NULL
) STRICT;
CREATE INDEX evaluations_release ON evaluations (release_id);

CREATE TABLE release_transitions (
	id         INTEGER PRIMARY KEY,
	release_id INTEGER NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
	from_state TEXT    NOT NULL,
	to_state   TEXT    NOT NULL,
	actor      TEXT    NOT NULL,
	reason     TEXT    NOT NULL,
	at         INTEGER NOT NULL
) STRICT;
CREATE INDEX release_transitions_release ON release_transitions (release_id);
