package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigilmon/vigil/registry/internal/store"
)

var _ store.Fleet = (*DB)(nil)

// RememberBatch implements store.Fleet. A fresh claim costs one
// statement: the insert that finds the key taken affects no row. Of
// concurrent calls with the same node and id exactly one inserts
// (PostgreSQL makes the others wait for it, SQLite has one writer); the
// others then read the claim. A claim forgotten between the two is claimed
// again.
func (db *DB) RememberBatch(ctx context.Context, node, id, owner string, at time.Time) (store.BatchClaim, error) {
	doing := fmt.Sprintf("remembering batch %q of node %q", id, node)
	if node == "" || id == "" || owner == "" {
		return store.BatchClaim{}, invalid("%s: node, batch id and owner must not be empty", doing)
	}
	for attempt := 0; ; attempt++ {
		res, err := db.w.ExecContext(ctx, `INSERT INTO ingest_batches (node, id, seen_at, owner, confirmed)
			VALUES ($1, $2, $3, $4, FALSE) ON CONFLICT (node, id) DO NOTHING`, node, id, at.UnixMicro(), owner)
		if err != nil {
			return store.BatchClaim{}, db.fail(doing, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return store.BatchClaim{}, db.fail(doing, err)
		}
		if n == 1 {
			return store.BatchClaim{Fresh: true, Owner: owner}, nil
		}
		var c store.BatchClaim
		err = db.r.QueryRowContext(ctx, `SELECT owner, confirmed FROM ingest_batches WHERE node = $1 AND id = $2`,
			node, id).Scan(&c.Owner, &c.Confirmed)
		if errors.Is(err, sql.ErrNoRows) && attempt < maxClaimAttempts {
			continue // forgotten since the insert
		}
		if err != nil {
			return store.BatchClaim{}, db.fail(doing, err)
		}
		return c, nil
	}
}

// maxClaimAttempts bounds RememberBatch's retries when a claim it found
// taken is forgotten before it can be read.
const maxClaimAttempts = 3

// TakeOverBatch implements store.Fleet in one compare-and-set statement:
// PostgreSQL makes a concurrent update wait and then evaluates the
// condition again on the row it wrote, SQLite has one writer.
func (db *DB) TakeOverBatch(ctx context.Context, node, id, from, to string) (bool, error) {
	doing := fmt.Sprintf("taking over batch %q of node %q", id, node)
	if to == "" {
		return false, invalid("%s: the new owner must not be empty", doing)
	}
	res, err := db.w.ExecContext(ctx, `UPDATE ingest_batches SET owner = $1
		WHERE node = $2 AND id = $3 AND owner = $4 AND NOT confirmed`, to, node, id, from)
	if err != nil {
		return false, db.fail(doing, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, db.fail(doing, err)
	}
	return n == 1, nil
}

// ConfirmBatches implements store.Fleet with multi-row UPDATEs, the keys
// sorted so that concurrent calls lock rows in much the same order.
func (db *DB) ConfirmBatches(ctx context.Context, keys []store.BatchKey) error {
	if len(keys) == 0 {
		return nil
	}
	doing := fmt.Sprintf("confirming %d batches", len(keys))
	keys = slices.Clone(keys)
	slices.SortFunc(keys, func(a, b store.BatchKey) int {
		return cmp.Or(strings.Compare(a.Node, b.Node), strings.Compare(a.ID, b.ID))
	})
	keys = slices.Compact(keys)
	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		return execRows(ctx, tx, db.d.Anonymous, `UPDATE ingest_batches SET confirmed = TRUE WHERE NOT confirmed AND (node, id) IN (VALUES `, 2, `)`,
			order, func(dst []any, i int) []any { return append(dst, keys[i].Node, keys[i].ID) })
	})
	if err != nil {
		return db.fail(doing, err)
	}
	return nil
}

// ForgetBatch implements store.Fleet.
func (db *DB) ForgetBatch(ctx context.Context, node, id string) error {
	if _, err := db.w.ExecContext(ctx, `DELETE FROM ingest_batches WHERE node = $1 AND id = $2`, node, id); err != nil {
		return db.fail(fmt.Sprintf("forgetting batch %q of node %q", id, node), err)
	}
	return nil
}

// ForgetBatches implements store.Fleet.
func (db *DB) ForgetBatches(ctx context.Context, before time.Time) (int64, error) {
	res, err := db.w.ExecContext(ctx, `DELETE FROM ingest_batches WHERE seen_at < $1`, before.UnixMicro())
	if err == nil {
		var n int64
		if n, err = res.RowsAffected(); err == nil {
			return n, nil
		}
	}
	return 0, db.fail("forgetting batch ids", err)
}

// touchNode is the upsert TouchNode and SetNodeInfo share: first seen only
// moves back, last seen only forward. The CASEs stand for LEAST/GREATEST,
// which SQLite spells min/max.
const touchNode = ` ON CONFLICT (name) DO UPDATE SET
	first_seen = CASE WHEN excluded.first_seen < nodes.first_seen THEN excluded.first_seen ELSE nodes.first_seen END,
	last_seen = CASE WHEN excluded.last_seen > nodes.last_seen THEN excluded.last_seen ELSE nodes.last_seen END`

// TouchNode implements store.Fleet. A node seen for the first time has no
// agent version, tags or inventory until SetNodeInfo.
func (db *DB) TouchNode(ctx context.Context, node string, at time.Time) error {
	if node == "" {
		return invalid("touching node: empty name")
	}
	_, err := db.w.ExecContext(ctx, `INSERT INTO nodes (name, agent_version, tags, inventory, first_seen, last_seen)
		VALUES ($1, '', 'null', NULL, $2, $2)`+touchNode, node, at.UnixMicro())
	if err != nil {
		return db.fail(fmt.Sprintf("touching node %q", node), err)
	}
	return nil
}

// SetNodeInfo implements store.Fleet. Tags read back as given (nil stays
// nil, empty stays empty); Inventory byte for byte, and must be nil or
// JSON.
func (db *DB) SetNodeInfo(ctx context.Context, node string, info store.NodeInfo, at time.Time) error {
	doing := fmt.Sprintf("recording what node %q reported", node)
	if node == "" {
		return invalid("%s: empty node name", doing)
	}
	tags, err := json.Marshal(info.Tags)
	if err != nil {
		return invalid("%s: tags: %v", doing, err)
	}
	var inventory sql.NullString
	if info.Inventory != nil {
		if !json.Valid(info.Inventory) {
			return invalid("%s: inventory is not JSON", doing)
		}
		inventory = sql.NullString{String: string(info.Inventory), Valid: true}
	}
	_, err = db.w.ExecContext(ctx, `INSERT INTO nodes (name, agent_version, tags, inventory, first_seen, last_seen)
		VALUES ($1, $2, $3, $4, $5, $5)`+touchNode+`,
		agent_version = excluded.agent_version, tags = excluded.tags, inventory = excluded.inventory`,
		node, info.AgentVersion, string(tags), inventory, at.UnixMicro())
	if err != nil {
		return db.fail(doing, err)
	}
	return nil
}

const nodeColumns = `SELECT name, agent_version, tags, inventory, first_seen, last_seen FROM nodes `

// Node implements store.Fleet.
func (db *DB) Node(ctx context.Context, name string) (store.Node, error) {
	n, err := scanNode(db.r.QueryRowContext(ctx, nodeColumns+`WHERE name = $1`, name))
	if err != nil {
		return store.Node{}, db.fail(fmt.Sprintf("reading node %q", name), err)
	}
	return n, nil
}

// ListNodes implements store.Fleet.
func (db *DB) ListNodes(ctx context.Context) ([]store.Node, error) {
	rows, err := db.r.QueryContext(ctx, nodeColumns+`ORDER BY name`)
	if err != nil {
		return nil, db.fail("listing nodes", err)
	}
	defer rows.Close()
	var ns []store.Node
	for rows.Next() {
		n, err := scanNode(rows)
		if err != nil {
			return nil, db.fail("listing nodes", err)
		}
		ns = append(ns, n)
	}
	if err := rows.Err(); err != nil {
		return nil, db.fail("listing nodes", err)
	}
	return ns, nil
}

func scanNode(s scanner) (store.Node, error) {
	var n store.Node
	var tags string
	var inventory sql.NullString
	var first, last int64
	if err := s.Scan(&n.Name, &n.AgentVersion, &tags, &inventory, &first, &last); err != nil {
		return store.Node{}, err
	}
	if err := json.Unmarshal([]byte(tags), &n.Tags); err != nil {
		return store.Node{}, fmt.Errorf("node %q: decoding tags: %w", n.Name, err)
	}
	if inventory.Valid {
		n.Inventory = json.RawMessage(inventory.String)
	}
	n.FirstSeen, n.LastSeen = fromMicro(first), fromMicro(last)
	return n, nil
}
