package sqlstore

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"fmt"
	"strings"

	"github.com/vigilmon/vigil/registry/internal/store"
)

// CreatePublisher implements store.Publishers.
func (db *DB) CreatePublisher(ctx context.Context, name string) (store.Publisher, error) {
	if strings.TrimSpace(name) == "" {
		return store.Publisher{}, invalid("publisher name is empty")
	}
	p := store.Publisher{Name: name, Created: now()}
	err := db.w.QueryRowContext(ctx, `INSERT INTO publishers (name, created) VALUES ($1, $2) RETURNING id`,
		name, p.Created.UnixMicro()).Scan(&p.ID)
	if err != nil {
		return store.Publisher{}, db.fail(fmt.Sprintf("creating publisher %q", name), err)
	}
	return p, nil
}

// Publisher implements store.Publishers.
func (db *DB) Publisher(ctx context.Context, id int64) (store.Publisher, error) {
	ps, err := db.publishers(ctx, id)
	if err == nil && len(ps) == 0 {
		err = sql.ErrNoRows
	}
	if err != nil {
		return store.Publisher{}, db.fail(fmt.Sprintf("reading publisher %d", id), err)
	}
	return ps[0], nil
}

// ListPublishers implements store.Publishers.
func (db *DB) ListPublishers(ctx context.Context) ([]store.Publisher, error) {
	ps, err := db.publishers(ctx, 0)
	if err != nil {
		return nil, db.fail("listing publishers", err)
	}
	return ps, nil
}

// publishers reads one publisher (or all if id is 0) and their keys.
func (db *DB) publishers(ctx context.Context, id int64) ([]store.Publisher, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, name, created FROM publishers
		WHERE CAST($1 AS BIGINT) = 0 OR id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ps []store.Publisher
	index := map[int64]int{}
	for rows.Next() {
		var p store.Publisher
		var created int64
		if err := rows.Scan(&p.ID, &p.Name, &created); err != nil {
			return nil, err
		}
		p.Created = fromMicro(created)
		index[p.ID] = len(ps)
		ps = append(ps, p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	krows, err := db.r.QueryContext(ctx, `SELECT publisher_id, key_id, public_key, created FROM publisher_keys
		WHERE CAST($1 AS BIGINT) = 0 OR publisher_id = $1 ORDER BY created, key_id`, id)
	if err != nil {
		return nil, err
	}
	defer krows.Close()
	for krows.Next() {
		var pub, created int64
		var k store.SigningKey
		var key []byte
		if err := krows.Scan(&pub, &k.ID, &key, &created); err != nil {
			return nil, err
		}
		k.PublicKey, k.Created = ed25519.PublicKey(key), fromMicro(created)
		if i, ok := index[pub]; ok {
			ps[i].Keys = append(ps[i].Keys, k)
		}
	}
	return ps, krows.Err()
}

// AddSigningKey implements store.Publishers.
func (db *DB) AddSigningKey(ctx context.Context, publisher int64, id string, key ed25519.PublicKey) (store.SigningKey, error) {
	if strings.TrimSpace(id) == "" {
		return store.SigningKey{}, invalid("signing key id is empty")
	}
	if len(key) != ed25519.PublicKeySize {
		return store.SigningKey{}, invalid("signing key %q has %d bytes, an ed25519 public key has %d", id, len(key), ed25519.PublicKeySize)
	}
	k := store.SigningKey{ID: id, PublicKey: key, Created: now()}
	_, err := db.w.ExecContext(ctx, `INSERT INTO publisher_keys (key_id, publisher_id, public_key, created) VALUES ($1, $2, $3, $4)`,
		id, publisher, []byte(key), k.Created.UnixMicro())
	if err != nil {
		return store.SigningKey{}, db.fail(fmt.Sprintf("adding signing key %q to publisher %d", id, publisher), err)
	}
	return k, nil
}

// CreatePlugin implements store.Plugins.
func (db *DB) CreatePlugin(ctx context.Context, p store.Plugin) (store.Plugin, error) {
	if strings.TrimSpace(p.Name) == "" {
		return store.Plugin{}, invalid("plugin name is empty")
	}
	p.Created = now()
	_, err := db.w.ExecContext(ctx, `INSERT INTO plugins (name, owner_id, description, source_url, created) VALUES ($1, $2, $3, $4, $5)`,
		p.Name, p.Owner, p.Description, p.SourceURL, p.Created.UnixMicro())
	if err != nil {
		return store.Plugin{}, db.fail(fmt.Sprintf("creating plugin %q", p.Name), err)
	}
	return p, nil
}

const pluginColumns = `SELECT name, owner_id, description, source_url, created FROM plugins `

// Plugin implements store.Plugins.
func (db *DB) Plugin(ctx context.Context, name string) (store.Plugin, error) {
	p, err := scanPlugin(db.r.QueryRowContext(ctx, pluginColumns+`WHERE name = $1`, name))
	if err != nil {
		return store.Plugin{}, db.fail(fmt.Sprintf("reading plugin %q", name), err)
	}
	return p, nil
}

// ListPlugins implements store.Plugins.
func (db *DB) ListPlugins(ctx context.Context, owner int64) ([]store.Plugin, error) {
	rows, err := db.r.QueryContext(ctx, pluginColumns+`WHERE CAST($1 AS BIGINT) = 0 OR owner_id = $1 ORDER BY name`, owner)
	if err != nil {
		return nil, db.fail("listing plugins", err)
	}
	defer rows.Close()
	var ps []store.Plugin
	for rows.Next() {
		p, err := scanPlugin(rows)
		if err != nil {
			return nil, db.fail("listing plugins", err)
		}
		ps = append(ps, p)
	}
	if err := rows.Err(); err != nil {
		return nil, db.fail("listing plugins", err)
	}
	return ps, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanPlugin(s scanner) (store.Plugin, error) {
	var p store.Plugin
	var created int64
	err := s.Scan(&p.Name, &p.Owner, &p.Description, &p.SourceURL, &created)
	p.Created = fromMicro(created)
	return p, err
}

// CreateCredential implements store.Credentials. It stores c.Role, c.Hash
// and the scope field the role needs; ID, Created and Revoked are set here.
func (db *DB) CreateCredential(ctx context.Context, c store.Credential) (store.Credential, error) {
	var pub sql.NullInt64
	var plugin, node sql.NullString
	switch {
	case c.Role == store.RoleAdmin && c.Publisher == 0 && c.Plugin == "" && c.Node == "":
	case c.Role == store.RolePublisher && c.Publisher != 0 && c.Plugin == "" && c.Node == "":
		pub = sql.NullInt64{Int64: c.Publisher, Valid: true}
	case c.Role == store.RolePlugin && c.Plugin != "" && c.Publisher == 0 && c.Node == "":
		plugin = sql.NullString{String: c.Plugin, Valid: true}
	case c.Role == store.RoleAgent && c.Publisher == 0 && c.Plugin == "":
		node = sql.NullString{String: c.Node, Valid: c.Node != ""}
	default:
		return store.Credential{}, invalid("a %q credential cannot have scope publisher=%d plugin=%q node=%q", c.Role, c.Publisher, c.Plugin, c.Node)
	}
	if c.Hash == (store.Hash{}) {
		return store.Credential{}, invalid("credential hash is empty")
	}
	c.Created, c.Revoked = now(), nil
	err := db.w.QueryRowContext(ctx, `INSERT INTO credentials (role, secret_hash, publisher_id, plugin_name, node_name, created)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		string(c.Role), c.Hash[:], pub, plugin, node, c.Created.UnixMicro()).Scan(&c.ID)
	if err != nil {
		return store.Credential{}, db.fail(fmt.Sprintf("creating %s credential", c.Role), err)
	}
	return c, nil
}

const credentialColumns = `SELECT id, role, secret_hash, publisher_id, plugin_name, node_name, created, revoked FROM credentials `

// CredentialByHash implements store.Credentials.
func (db *DB) CredentialByHash(ctx context.Context, h store.Hash) (store.Credential, error) {
	c, err := scanCredential(db.r.QueryRowContext(ctx, credentialColumns+`WHERE secret_hash = $1 AND revoked IS NULL`, h[:]))
	if err != nil {
		return store.Credential{}, db.fail("looking up credential", err)
	}
	return c, nil
}

// RevokeCredential implements store.Credentials. Revoking twice is not an
// error; the first revocation time stays.
func (db *DB) RevokeCredential(ctx context.Context, id int64) error {
	res, err := db.w.ExecContext(ctx, `UPDATE credentials SET revoked = $1 WHERE id = $2 AND revoked IS NULL`, now().UnixMicro(), id)
	if err == nil {
		var n int64
		if n, err = res.RowsAffected(); err == nil && n == 0 {
			err = db.r.QueryRowContext(ctx, `SELECT id FROM credentials WHERE id = $1`, id).Scan(&id)
		}
	}
	if err != nil {
		return db.fail(fmt.Sprintf("revoking credential %d", id), err)
	}
	return nil
}

// ListCredentials implements store.Credentials, revoked ones included.
func (db *DB) ListCredentials(ctx context.Context) ([]store.Credential, error) {
	rows, err := db.r.QueryContext(ctx, credentialColumns+`ORDER BY id`)
	if err != nil {
		return nil, db.fail("listing credentials", err)
	}
	defer rows.Close()
	var cs []store.Credential
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return nil, db.fail("listing credentials", err)
		}
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, db.fail("listing credentials", err)
	}
	return cs, nil
}

func scanCredential(s scanner) (store.Credential, error) {
	var c store.Credential
	var role string
	var hash []byte
	var pub, revoked sql.NullInt64
	var plugin, node sql.NullString
	var created int64
	if err := s.Scan(&c.ID, &role, &hash, &pub, &plugin, &node, &created, &revoked); err != nil {
		return store.Credential{}, err
	}
	c.Role, c.Publisher, c.Plugin, c.Node = store.Role(role), pub.Int64, plugin.String, node.String
	copy(c.Hash[:], hash)
	c.Created = fromMicro(created)
	if revoked.Valid {
		t := fromMicro(revoked.Int64)
		c.Revoked = &t
	}
	return c, nil
}
