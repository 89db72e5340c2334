package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilmon/vigil/registry/internal/store"
)

// PutLatest implements store.Fleet. The values are checked first (a
// node, measurement and field; a value of one of the five kinds; a time
// line protocol can carry), and if one is wrong nothing is written. Of
// several values for one key in the call the newest is kept, the later one
// on a tie; a value as new as the stored one replaces it.
func (db *DB) PutLatest(ctx context.Context, values []store.LatestValue) error {
	doing := fmt.Sprintf("storing %d latest values", len(values))
	kinds := make([]string, len(values))
	texts := make([]string, len(values))
	for i, v := range values {
		if v.Node == "" || v.Measurement == "" || v.Field == "" {
			return invalid("%s: value %d has no node, measurement or field", doing, i)
		}
		var ok bool
		if kinds[i], texts[i], ok = encodeValue(v.Value); !ok {
			return invalid("%s: %s %s: a value of type %T, want float64, int64, uint64, bool or string", doing, v.Measurement, v.Field, v.Value)
		}
		if !pointTime(v.Time) {
			return invalid("%s: %s %s: time %v is out of range", doing, v.Measurement, v.Field, v.Time)
		}
	}
	order := newest(len(values), func(a, b int) int {
		x, y := &values[a], &values[b]
		return cmp.Or(strings.Compare(x.Node, y.Node), strings.Compare(x.Measurement, y.Measurement),
			strings.Compare(x.Tags, y.Tags), strings.Compare(x.Field, y.Field))
	}, func(i int) time.Time { return values[i].Time })
	err := db.upsert(ctx, `INSERT INTO latest_values (node, measurement, tags, field, kind, value, time_ns) VALUES `, 7, `
		ON CONFLICT (node, measurement, tags, field) DO UPDATE SET
		kind = excluded.kind, value = excluded.value, time_ns = excluded.time_ns
		WHERE excluded.time_ns >= latest_values.time_ns`,
		order, func(dst []any, i int) []any {
			v := &values[i]
			return append(dst, v.Node, v.Measurement, v.Tags, v.Field, kinds[i], texts[i], v.Time.UnixNano())
		})
	if err != nil {
		return db.fail(doing, err)
	}
	return nil
}

// Latest implements store.Fleet.
func (db *DB) Latest(ctx context.Context, node string) ([]store.LatestValue, error) {
	doing := fmt.Sprintf("reading latest values of node %q", node)
	rows, err := db.r.QueryContext(ctx, `SELECT measurement, tags, field, kind, value, time_ns FROM latest_values
		WHERE node = $1 ORDER BY measurement, tags, field`, node)
	if err != nil {
		return nil, db.fail(doing, err)
	}
	defer rows.Close()
	var vs []store.LatestValue
	for rows.Next() {
		v := store.LatestValue{Node: node}
		var kind, text string
		var ns int64
		if err := rows.Scan(&v.Measurement, &v.Tags, &v.Field, &kind, &text, &ns); err != nil {
			return nil, db.fail(doing, err)
		}
		if v.Value, err = decodeValue(kind, text); err != nil {
			return nil, fmt.Errorf("%s: %s %s: %w", doing, v.Measurement, v.Field, err)
		}
		v.Time = time.Unix(0, ns).UTC()
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		return nil, db.fail(doing, err)
	}
	return vs, nil
}

// PutPromiseResults implements store.Fleet, checking and keeping the
// newest as PutLatest does. A status is 0 to 3 and a duration a finite
// number.
func (db *DB) PutPromiseResults(ctx context.Context, results []store.PromiseResult) error {
	doing := fmt.Sprintf("storing %d promise results", len(results))
	for i, r := range results {
		switch {
		case r.Node == "" || r.Plugin == "" || r.Promise == "":
			return invalid("%s: result %d has no node, plugin or promise", doing, i)
		case r.Status < 0 || r.Status > 3:
			return invalid("%s: %s/%s: status %d, want 0 to 3", doing, r.Plugin, r.Promise, r.Status)
		case math.IsNaN(r.DurationMS) || math.IsInf(r.DurationMS, 0):
			return invalid("%s: %s/%s: duration %v is not a number", doing, r.Plugin, r.Promise, r.DurationMS)
		case !pointTime(r.Time):
			return invalid("%s: %s/%s: time %v is out of range", doing, r.Plugin, r.Promise, r.Time)
		}
	}
	order := newest(len(results), func(a, b int) int {
		x, y := &results[a], &results[b]
		return cmp.Or(strings.Compare(x.Node, y.Node), strings.Compare(x.Plugin, y.Plugin), strings.Compare(x.Promise, y.Promise))
	}, func(i int) time.Time { return results[i].Time })
	err := db.upsert(ctx, `INSERT INTO promise_results (node, plugin, promise, status, message, anomaly, duration_ms, time_ns) VALUES `, 8, `
		ON CONFLICT (node, plugin, promise) DO UPDATE SET
		status = excluded.status, message = excluded.message, anomaly = excluded.anomaly,
		duration_ms = excluded.duration_ms, time_ns = excluded.time_ns
		WHERE excluded.time_ns >= promise_results.time_ns`,
		order, func(dst []any, i int) []any {
			r := &results[i]
			return append(dst, r.Node, r.Plugin, r.Promise, int64(r.Status), r.Message, r.Anomaly, r.DurationMS, r.Time.UnixNano())
		})
	if err != nil {
		return db.fail(doing, err)
	}
	return nil
}

// PromiseResults implements store.Fleet; every node's results are sorted
// by node first.
func (db *DB) PromiseResults(ctx context.Context, node string) ([]store.PromiseResult, error) {
	doing := "reading every node's promise results"
	q := `SELECT node, plugin, promise, status, message, anomaly, duration_ms, time_ns FROM promise_results `
	var args []any
	if node != "" {
		doing = fmt.Sprintf("reading promise results of node %q", node)
		q += `WHERE node = $1 `
		args = append(args, node)
	}
	rows, err := db.r.QueryContext(ctx, q+`ORDER BY node, plugin, promise`, args...)
	if err != nil {
		return nil, db.fail(doing, err)
	}
	defer rows.Close()
	var rs []store.PromiseResult
	for rows.Next() {
		var r store.PromiseResult
		var ns int64
		if err := rows.Scan(&r.Node, &r.Plugin, &r.Promise, &r.Status, &r.Message, &r.Anomaly, &r.DurationMS, &ns); err != nil {
			return nil, db.fail(doing, err)
		}
		r.Time = time.Unix(0, ns).UTC()
		rs = append(rs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, db.fail(doing, err)
	}
	return rs, nil
}

// Point times are kept as Unix nanoseconds in a BIGINT, as line protocol
// carries them.
var (
	minPointTime = time.Unix(0, math.MinInt64)
	maxPointTime = time.Unix(0, math.MaxInt64)
)

func pointTime(t time.Time) bool { return !t.Before(minPointTime) && !t.After(maxPointTime) }

// newest returns the indexes of n rows sorted by key (compare), one per
// key: the row with the latest time, the last given on a tie. Writing rows
// in key order also makes concurrent upserts lock rows in the same order,
// so they cannot deadlock.
func newest(n int, compare func(a, b int) int, at func(int) time.Time) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Or(compare(a, b), at(a).Compare(at(b)))
	})
	out := order[:0]
	for j, i := range order {
		if j+1 < n && compare(i, order[j+1]) == 0 {
			continue // a newer row for the same key follows
		}
		out = append(out, i)
	}
	return out
}

// statementRows is how many rows one multi-row statement carries: enough
// to amortise a statement's round trip and parse, few enough to stay far
// below both databases' limits on parameters (SQLite 32766, PostgreSQL
// 65535).
const statementRows = 256

// upsert writes the rows order names in one transaction, through prepared
// multi-row INSERTs: head is "INSERT INTO t (c1, ..., cN) VALUES " for
// cols columns, tail the ON CONFLICT clause, and args appends one row's
// values. A key must not appear twice in order (PostgreSQL refuses to
// update a row twice in one statement).
func (db *DB) upsert(ctx context.Context, head string, cols int, tail string, order []int, args func(dst []any, i int) []any) error {
	if len(order) == 0 {
		return nil
	}
	return db.tx(ctx, func(tx *sql.Tx) error { return execRows(ctx, tx, db.d.Anonymous, head, cols, tail, order, args) })
}

// execRows runs, in tx, head + "(row), (row), ..." + tail for the rows
// order names, statementRows rows a statement (the full-size statement is
// prepared once), args appending one row's cols values.
func execRows(ctx context.Context, tx *sql.Tx, anonymous bool, head string, cols int, tail string, order []int, args func(dst []any, i int) []any) error {
	var full *sql.Stmt
	buf := make([]any, 0, min(len(order), statementRows)*cols)
	for start := 0; start < len(order); start += statementRows {
		rows := order[start:min(start+statementRows, len(order))]
		stmt := full
		if stmt == nil || len(rows) < statementRows {
			s, err := tx.PrepareContext(ctx, head+placeholders(len(rows), cols, anonymous)+tail)
			if err != nil {
				return err
			}
			defer s.Close()
			if len(rows) == statementRows {
				full = s
			}
			stmt = s
		}
		buf = buf[:0]
		for _, i := range rows {
			buf = args(buf, i)
		}
		if _, err := stmt.ExecContext(ctx, buf...); err != nil {
			return err
		}
	}
	return nil
}

// placeholders returns "($1, $2), ($3, $4)" for 2 rows of 2 columns, or
// "(?, ?), (?, ?)" if anonymous.
func placeholders(rows, cols int, anonymous bool) string {
	var b strings.Builder
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteString(", ")
			}
			if anonymous {
				b.WriteByte('?')
				continue
			}
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(r*cols + c + 1))
		}
		b.WriteByte(')')
	}
	return b.String()
}

// encodeValue returns a latest value's kind and its text, from which
// decodeValue gets the same Go value back.
func encodeValue(v any) (kind, text string, ok bool) {
	switch v := v.(type) {
	case float64:
		return "float", strconv.FormatFloat(v, 'g', -1, 64), true
	case int64:
		return "int", strconv.FormatInt(v, 10), true
	case uint64:
		return "uint", strconv.FormatUint(v, 10), true
	case bool:
		return "bool", strconv.FormatBool(v), true
	case string:
		return "string", v, true
	}
	return "", "", false
}

func decodeValue(kind, text string) (any, error) {
	var v any
	var err error
	switch kind {
	case "float":
		v, err = strconv.ParseFloat(text, 64)
	case "int":
		v, err = strconv.ParseInt(text, 10, 64)
	case "uint":
		v, err = strconv.ParseUint(text, 10, 64)
	case "bool":
		v, err = strconv.ParseBool(text)
	case "string":
		v = text
	default:
		err = fmt.Errorf("unknown kind %q", kind)
	}
	if err != nil {
		return nil, fmt.Errorf("decoding stored value: %w", err)
	}
	return v, nil
}
