package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/vigilmon/vigil/registry/internal/store"
)

// semverRE is the regular expression semver.org gives for SemVer 2.0.0.
var semverRE = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
	`(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?` +
	`(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)

// CreateRelease implements store.Releases: the release, its artifacts, its
// signature and the creation record, in one transaction.
func (db *DB) CreateRelease(ctx context.Context, r store.NewRelease) (store.Release, error) {
	doing := fmt.Sprintf("creating release %s %s", r.Plugin, r.Version)
	switch {
	case !semverRE.MatchString(r.Version):
		return store.Release{}, invalid("%s: version %q is not semantic (like 1.2.3)", doing, r.Version)
	case !json.Valid(r.Manifest):
		return store.Release{}, invalid("%s: manifest is not JSON", doing)
	case r.Actor == "":
		return store.Release{}, invalid("%s: no actor", doing)
	}
	at := now()
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO releases (plugin, version, state, manifest, created)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			r.Plugin, r.Version, string(store.Pending), string(r.Manifest), at.UnixMicro()).Scan(&id)
		if err != nil {
			return err
		}
		for _, a := range r.Artifacts {
			if _, err := tx.ExecContext(ctx, `INSERT INTO release_artifacts (release_id, os, arch, path, sha256, size)
				VALUES ($1, $2, $3, $4, $5, $6)`, id, a.OS, a.Arch, a.Path, a.SHA256, a.Size); err != nil {
				return err
			}
		}
		if s := r.Signature; s != nil {
			if _, err := tx.ExecContext(ctx, `INSERT INTO release_signatures (release_id, sha256sums, signature, key_id)
				VALUES ($1, $2, $3, $4)`, id, s.SHA256Sums, s.Signature, s.KeyID); err != nil {
				return err
			}
		}
		return record(ctx, tx, id, "", store.Pending, r.Actor, "published", at)
	})
	if err != nil {
		return store.Release{}, db.fail(doing, err)
	}
	return db.Release(ctx, r.Plugin, r.Version)
}

func record(ctx context.Context, q querier, release int64, from, to store.State, actor, reason string, at time.Time) error {
	_, err := q.ExecContext(ctx, `INSERT INTO release_transitions (release_id, from_state, to_state, actor, reason, at)
		VALUES ($1, $2, $3, $4, $5, $6)`, release, string(from), string(to), actor, reason, at.UnixMicro())
	return err
}

// Release implements store.Releases.
func (db *DB) Release(ctx context.Context, plugin, version string) (store.Release, error) {
	rs, err := db.releases(ctx, db.r, store.ReleaseQuery{Plugin: plugin}, version)
	if err == nil && len(rs) == 0 {
		err = sql.ErrNoRows
	}
	if err != nil {
		return store.Release{}, db.fail(fmt.Sprintf("reading release %s %s", plugin, version), err)
	}
	return rs[0], nil
}

// ListReleases implements store.Releases, ordered by plugin then creation.
func (db *DB) ListReleases(ctx context.Context, q store.ReleaseQuery) ([]store.Release, error) {
	for _, s := range q.States {
		if !s.Valid() {
			return nil, invalid("listing releases: unknown state %q", s)
		}
	}
	rs, err := db.releases(ctx, db.r, q, "")
	if err != nil {
		return nil, db.fail("listing releases", err)
	}
	return rs, nil
}

// releases reads the releases matching q (and version, if set) with their
// signatures, then their artifacts in a second query over the same filter.
func (db *DB) releases(ctx context.Context, qr querier, q store.ReleaseQuery, version string) ([]store.Release, error) {
	var conds []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if q.Plugin != "" {
		conds = append(conds, "r.plugin = "+arg(q.Plugin))
	}
	if version != "" {
		conds = append(conds, "r.version = "+arg(version))
	}
	if len(q.States) > 0 {
		var in []string
		for _, s := range q.States {
			in = append(in, arg(string(s)))
		}
		conds = append(conds, "r.state IN ("+strings.Join(in, ", ")+")")
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	rows, err := qr.QueryContext(ctx, `SELECT r.id, r.plugin, r.version, r.state, r.manifest, r.created,
		s.sha256sums, s.signature, s.key_id
		FROM releases r LEFT JOIN release_signatures s ON s.release_id = r.id`+where+` ORDER BY r.plugin, r.id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var rs []store.Release
	index := map[int64]int{}
	for rows.Next() {
		var r store.Release
		var id, created int64
		var state, manifest string
		var sums, sig []byte
		var keyID sql.NullString
		if err := rows.Scan(&id, &r.Plugin, &r.Version, &state, &manifest, &created, &sums, &sig, &keyID); err != nil {
			return nil, err
		}
		r.State, r.Manifest, r.Created = store.State(state), json.RawMessage(manifest), fromMicro(created)
		if keyID.Valid {
			r.Signature = &store.Signature{SHA256Sums: sums, Signature: sig, KeyID: keyID.String}
		}
		index[id] = len(rs)
		rs = append(rs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	arows, err := qr.QueryContext(ctx, `SELECT a.release_id, a.os, a.arch, a.path, a.sha256, a.size
		FROM release_artifacts a JOIN releases r ON r.id = a.release_id`+where+` ORDER BY a.release_id, a.os, a.arch`, args...)
	if err != nil {
		return nil, err
	}
	defer arows.Close()
	for arows.Next() {
		var id int64
		var a store.Artifact
		if err := arows.Scan(&id, &a.OS, &a.Arch, &a.Path, &a.SHA256, &a.Size); err != nil {
			return nil, err
		}
		if i, ok := index[id]; ok {
			rs[i].Artifacts = append(rs[i].Artifacts, a)
		}
	}
	return rs, arows.Err()
}

// TransitionRelease implements store.Releases. The current state is read
// with the row locked (or, in SQLite, inside the single writer's
// transaction), and the update is conditional on it as well.
func (db *DB) TransitionRelease(ctx context.Context, plugin, version string, to store.State, actor, reason string) (store.Release, error) {
	doing := fmt.Sprintf("moving release %s %s to %s", plugin, version, to)
	if actor == "" {
		return store.Release{}, invalid("%s: no actor", doing)
	}
	var out store.Release
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var id int64
		var from string
		if err := tx.QueryRowContext(ctx, `SELECT id, state FROM releases WHERE plugin = $1 AND version = $2`+db.d.ForUpdate,
			plugin, version).Scan(&id, &from); err != nil {
			return err
		}
		if err := store.Transition(store.State(from), to); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE releases SET state = $1 WHERE id = $2 AND state = $3`, string(to), id, from)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return fmt.Errorf("state changed concurrently: %w", store.ErrConflict)
		}
		if err := record(ctx, tx, id, store.State(from), to, actor, reason, now()); err != nil {
			return err
		}
		rs, err := db.releases(ctx, tx, store.ReleaseQuery{Plugin: plugin}, version)
		if err == nil && len(rs) == 1 {
			out = rs[0]
		}
		return err
	})
	if err != nil {
		return store.Release{}, db.fail(doing, err)
	}
	return out, nil
}

// History implements store.Releases, oldest first.
func (db *DB) History(ctx context.Context, plugin, version string) ([]store.TransitionRecord, error) {
	doing := fmt.Sprintf("reading history of %s %s", plugin, version)
	rows, err := db.r.QueryContext(ctx, `SELECT t.from_state, t.to_state, t.actor, t.reason, t.at
		FROM release_transitions t JOIN releases r ON r.id = t.release_id
		WHERE r.plugin = $1 AND r.version = $2 ORDER BY t.id`, plugin, version)
	if err != nil {
		return nil, db.fail(doing, err)
	}
	defer rows.Close()
	var hs []store.TransitionRecord
	for rows.Next() {
		var h store.TransitionRecord
		var from, to string
		var at int64
		if err := rows.Scan(&from, &to, &h.Actor, &h.Reason, &at); err != nil {
			return nil, db.fail(doing, err)
		}
		h.From, h.To, h.At = store.State(from), store.State(to), fromMicro(at)
		hs = append(hs, h)
	}
	if err := rows.Err(); err != nil {
		return nil, db.fail(doing, err)
	}
	if len(hs) == 0 { // every release has its creation record
		return nil, db.fail(doing, sql.ErrNoRows)
	}
	return hs, nil
}

// DeleteRelease implements store.Releases. The artifact, signature,
// evaluation and transition rows go with the release (ON DELETE CASCADE in
// both schemas).
func (db *DB) DeleteRelease(ctx context.Context, plugin, version string, actor string) error {
	doing := fmt.Sprintf("deleting release %s %s", plugin, version)
	if actor == "" {
		return invalid("%s: no actor", doing)
	}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM releases WHERE plugin = $1 AND version = $2`, plugin, version)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return sql.ErrNoRows
		}
		return nil
	})
	if err != nil {
		return db.fail(doing, err)
	}
	return nil
}

// AddEvaluation implements store.Evaluations.
func (db *DB) AddEvaluation(ctx context.Context, plugin, version string, e store.Evaluation) error {
	doing := fmt.Sprintf("recording evaluation of %s %s", plugin, version)
	if !json.Valid(e.Report) {
		return invalid("%s: report is not JSON", doing)
	}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM releases WHERE plugin = $1 AND version = $2`, plugin, version).Scan(&id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO evaluations (release_id, report, started, finished) VALUES ($1, $2, $3, $4)`,
			id, string(e.Report), e.Started.UnixMicro(), e.Finished.UnixMicro())
		return err
	})
	if err != nil {
		return db.fail(doing, err)
	}
	return nil
}

// Evaluations implements store.Evaluations.
func (db *DB) Evaluations(ctx context.Context, plugin, version string) ([]store.Evaluation, error) {
	doing := fmt.Sprintf("reading evaluations of %s %s", plugin, version)
	if _, err := db.Release(ctx, plugin, version); err != nil {
		return nil, err
	}
	rows, err := db.r.QueryContext(ctx, `SELECT e.report, e.started, e.finished
		FROM evaluations e JOIN releases r ON r.id = e.release_id
		WHERE r.plugin = $1 AND r.version = $2 ORDER BY e.id`, plugin, version)
	if err != nil {
		return nil, db.fail(doing, err)
	}
	defer rows.Close()
	var es []store.Evaluation
	for rows.Next() {
		var report string
		var started, finished int64
		if err := rows.Scan(&report, &started, &finished); err != nil {
			return nil, db.fail(doing, err)
		}
		es = append(es, store.Evaluation{Report: json.RawMessage(report), Started: fromMicro(started), Finished: fromMicro(finished)})
	}
	if err := rows.Err(); err != nil {
		return nil, db.fail(doing, err)
	}
	return es, nil
}
