package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilmon/vigil/sdk/metric"
	"github.com/vigilmon/vigil/test/influxtest"
)

// influxQuery runs q (a GET when db is set, a POST otherwise) and returns
// the decoded answer.
func influxQuery(t *testing.T, base, db, q string) []influxSeries {
	t.Helper()
	v := url.Values{"q": {q}}
	var resp *http.Response
	var err error
	if db == "" {
		resp, err = http.PostForm(base+"/query", v)
	} else {
		v.Set("db", db)
		v.Set("epoch", "ns")
		resp, err = http.Get(base + "/query?" + v.Encode())
	}
	if err != nil {
		t.Fatalf("query %q: %v", q, err)
	}
	defer resp.Body.Close()
	var out struct {
		Results []struct {
			Error  string         `json:"error"`
			Series []influxSeries `json:"series"`
		} `json:"results"`
		Error string `json:"error"`
	}
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("query %q: status %s, decode error %v", q, resp.Status, err)
	}
	if out.Error != "" || len(out.Results) != 1 || out.Results[0].Error != "" {
		t.Fatalf("query %q: %+v", q, out)
	}
	return out.Results[0].Series
}

type influxSeries struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags"`
	Columns []string          `json:"columns"`
	Values  [][]any           `json:"values"`
}

func TestRealInfluxDB(t *testing.T) {
	base := strings.TrimSuffix(influxtest.Start(t), "/")
	db := fmt.Sprintf("vigil_test_%d", time.Now().UnixNano())
	influxQuery(t, base, "", "CREATE DATABASE "+db)
	t.Cleanup(func() { influxQuery(t, base, "", "DROP DATABASE "+db) })

	out, err := InfluxDB(InfluxDBConfig{URL: base, Database: db})
	if err != nil {
		t.Fatal(err)
	}
	p := New(Config{Node: "node 1", Tags: map[string]string{"site": "paris"}, BatchSize: 3, FlushInterval: time.Hour}, nil, out)
	defer p.Close(context.Background())

	var bu metric.Builder
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC).UnixNano()
	for i := range 4 {
		err := bu.Add("cpu load", map[string]string{"core": fmt.Sprint(i % 2), "site": "own,site"}, map[string]any{
			"user": float64(i) + 0.5, "count": int64(-i), "big": uint64(1) << 63, "up": i%2 == 0, "msg": fmt.Sprintf(`say "%d"`, i),
		}, t0+int64(i))
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Write("sys", &bu.Batch); err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}

	got := influxQuery(t, base, db, `SELECT "big","count","msg","up","user" FROM "cpu load" GROUP BY * ORDER BY time`)
	row := func(i int) []any {
		return []any{json.Number(fmt.Sprint(t0 + int64(i))), json.Number("9223372036854775807"), json.Number(fmt.Sprint(-i)),
			fmt.Sprintf(`say "%d"`, i), i%2 == 0, json.Number(fmt.Sprint(float64(i) + 0.5))}
	}
	cols := []string{"time", "big", "count", "msg", "up", "user"}
	want := []influxSeries{
		{Name: "cpu load", Tags: map[string]string{"core": "0", "node": "node 1", "plugin": "sys", "site": "own,site"}, Columns: cols, Values: [][]any{row(0), row(2)}},
		{Name: "cpu load", Tags: map[string]string{"core": "1", "node": "node 1", "plugin": "sys", "site": "own,site"}, Columns: cols, Values: [][]any{row(1), row(3)}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("queried back (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(OutputStats{Sent: 4}, p.Stats()["influxdb"]); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}

	// A body with one bad line: InfluxDB stores the good line and answers
	// 400 partial write; the batch is failed, not retried.
	var bad metric.Builder
	if err := bad.Add("cpu load", map[string]string{"core": "9"}, map[string]any{"user": "not a float"}, t0+10); err != nil {
		t.Fatal(err)
	}
	if err := bad.Add("other", nil, map[string]any{"v": 1.0}, t0+11); err != nil {
		t.Fatal(err)
	}
	if err := p.Write("sys", &bad.Batch); err != nil {
		t.Fatal(err)
	}
	err = p.Flush(context.Background())
	if err == nil || !strings.Contains(err.Error(), "400 Bad Request: partial write") {
		t.Errorf("Flush error = %v, want a 400 partial write", err)
	}
	if st := p.Stats()["influxdb"]; st.Failed != 2 || st.Sent != 4 {
		t.Errorf("stats after partial write: %+v", st)
	}
	got = influxQuery(t, base, db, `SELECT "v" FROM "other"`)
	want = []influxSeries{{Name: "other", Columns: []string{"time", "v"}, Values: [][]any{{json.Number(fmt.Sprint(t0 + 11)), json.Number("1")}}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("good line of the partial write (-want +got):\n%s", diff)
	}
}
