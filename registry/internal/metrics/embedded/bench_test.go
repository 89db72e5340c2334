package embedded

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vigilmon/vigil/registry/internal/metrics"
)

// benchAgent simulates one agent: 1,000 series of measurement cpu (tags
// cpu, node, plugin; fields usage_idle, usage_system, usage_user), sent in
// batches of 5,000 points: five steps of 10 s for every series.
type benchAgent struct {
	points      []metrics.Point
	step        int64
	user, sys   []float64
	rng         *rand.Rand
	seriesCount int
}

const (
	benchSeries = 1000
	benchBatch  = 5000
	benchStart  = int64(1_699_999_980) * 1e9 // on a minute
)

func newBenchAgent(id, series int) *benchAgent {
	a := &benchAgent{
		points: make([]metrics.Point, benchBatch), user: make([]float64, series), sys: make([]float64, series),
		rng: rand.New(rand.NewPCG(uint64(id), 1)), seriesCount: series,
	}
	node := fmt.Sprintf("node-%03d", id)
	for i := range a.points {
		s := i % series
		a.points[i] = metrics.Point{
			Measurement: "cpu",
			Tags:        []metrics.Tag{{Key: "cpu", Value: fmt.Sprintf("cpu%d", s)}, {Key: "node", Value: node}, {Key: "plugin", Value: "system"}},
			Fields: []metrics.Field{
				{Key: "usage_idle", Value: metrics.Value{Kind: metrics.Float}},
				{Key: "usage_system", Value: metrics.Value{Kind: metrics.Float}},
				{Key: "usage_user", Value: metrics.Value{Kind: metrics.Float}},
			},
		}
	}
	for s := range series {
		a.user[s], a.sys[s] = 20+a.rng.Float64()*20, 5+a.rng.Float64()*5
	}
	return a
}

// walk moves a percentage a little, kept in [0, 50], to two decimals as a
// collector's rounding would leave it.
func (a *benchAgent) walk(v float64) float64 {
	v = math.Round((v+a.rng.NormFloat64())*100) / 100
	return min(max(v, 0), 50)
}

// next fills the next batch in place.
func (a *benchAgent) next() []metrics.Point {
	for i := range a.points {
		p := &a.points[i]
		s := i % a.seriesCount
		p.Time = benchStart + (a.step+int64(i/a.seriesCount))*10e9
		a.user[s], a.sys[s] = a.walk(a.user[s]), a.walk(a.sys[s])
		p.Fields[0].Value.F = math.Round((100-a.user[s]-a.sys[s])*100) / 100
		p.Fields[1].Value.F = a.sys[s]
		p.Fields[2].Value.F = a.user[s]
	}
	a.step += int64(len(a.points) / a.seriesCount)
	return a.points
}

// pointWriter is what the write benchmark drives.
type pointWriter interface {
	Write(ctx context.Context, points []metrics.Point) error
}

// runWriteBench writes b.N batches from 4 goroutines (2 per CPU on this
// 2-core machine; at least 4 anywhere), each its own agent.
func runWriteBench(b *testing.B, w pointWriter) {
	var agents atomic.Int32
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	b.SetParallelism(max(1, (4+runtime.GOMAXPROCS(0)-1)/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		a := newBenchAgent(int(agents.Add(1)), benchSeries)
		for pb.Next() {
			if err := w.Write(context.Background(), a.next()); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	points := float64(b.N) * benchBatch
	b.ReportMetric(points/b.Elapsed().Seconds(), "points/s")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/points, "allocs/point")
}

func dirSize(b *testing.B, dir string) int64 {
	var n int64
	err := filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkWrite compares this store with the naive layout (a SQLite row per
// field, a transaction per batch) under the same load.
func BenchmarkWrite(b *testing.B) {
	b.Run("embedded", func(b *testing.B) {
		dir := b.TempDir()
		st, err := Open(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		runWriteBench(b, st)
		if err := st.flushOnce(context.Background(), true); err != nil {
			b.Fatal(err)
		}
		if _, err := st.db.w.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(dirSize(b, filepath.Join(dir, dbFile)))/(float64(b.N)*benchBatch), "disk-B/point")
		b.ReportMetric(float64(peakRSS())/(1<<20), "peak-RSS-MiB")
	})
	// naive-full fsyncs every commit, durable when acknowledged like the
	// store; naive-normal does not (SQLite's WAL mode, synchronous=NORMAL).
	for _, sync := range []string{"full", "normal"} {
		b.Run("naive-"+sync, func(b *testing.B) {
			dir := b.TempDir()
			n, err := openNaive(filepath.Join(dir, "naive.db"), sync)
			if err != nil {
				b.Fatal(err)
			}
			defer n.db.Close()
			runWriteBench(b, n)
			if _, err := n.db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(dirSize(b, dir))/(float64(b.N)*benchBatch), "disk-B/point")
		})
	}
}

// BenchmarkWritePaced offers the registry's target load, 300,000 points/s
// from 4 writers in 5,000-point batches, and reports the CPU the store
// takes, its write latency and the process's peak RSS (run it alone: the
// RSS is the whole test process's high-water mark). Each op is one batch.
func BenchmarkWritePaced(b *testing.B) {
	const rate = 300_000.0
	st, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		lat  []time.Duration
		next atomic.Int64
	)
	ru0 := cpuTime()
	b.ResetTimer()
	start := time.Now()
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := newBenchAgent(g, benchSeries)
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				time.Sleep(time.Until(start.Add(time.Duration(float64(i*benchBatch) / rate * 1e9))))
				t := time.Now()
				if err := st.Write(context.Background(), a.next()); err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				lat = append(lat, time.Since(t))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	elapsed := time.Since(start)
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)*benchBatch/elapsed.Seconds(), "points/s")
	b.ReportMetric((cpuTime()-ru0).Seconds()/elapsed.Seconds(), "cores")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(peakRSS())/(1<<20), "peak-RSS-MiB")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS is the process's high-water resident set in bytes (Linux), 0
// where unknown.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			return kb << 10
		}
	}
	return 0
}

// naive is the baseline: one row per field, one transaction per batch,
// series ids from an in-memory dictionary.
type naive struct {
	db     *sql.DB
	mu     sync.Mutex
	series map[string]int64
}

func openNaive(path, sync string) (*naive, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_journal_mode=WAL&_pragma=synchronous("+sync+")&_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	_, err = db.Exec(`CREATE TABLE series (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE);
		CREATE TABLE samples (series_id INTEGER NOT NULL, time INTEGER NOT NULL, value REAL NOT NULL);
		CREATE INDEX samples_series_time ON samples (series_id, time);`)
	return &naive{db: db, series: map[string]int64{}}, err
}

func (n *naive) Write(ctx context.Context, points []metrics.Point) error {
	tx, err := n.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ins, err := tx.PrepareContext(ctx, `INSERT INTO samples (series_id, time, value) VALUES (?, ?, ?)`)
	if err != nil {
		return err
	}
	var key []byte
	for _, p := range points {
		for _, f := range p.Fields {
			key = append(appendSetKey(key[:0], p.Measurement, p.Tags), f.Key...)
			n.mu.Lock()
			id, ok := n.series[string(key)]
			if !ok {
				r, err := tx.ExecContext(ctx, `INSERT INTO series (key) VALUES (?)`, string(key))
				if err != nil {
					n.mu.Unlock()
					return err
				}
				id, _ = r.LastInsertId()
				n.series[string(key)] = id
			}
			n.mu.Unlock()
			if _, err := ins.ExecContext(ctx, id, p.Time, f.Value.F); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

// BenchmarkQuery asks for one series over a day of 10 s samples at a step
// of 1m, with the day in SQLite and 100 series beside it.
func BenchmarkQuery(b *testing.B) {
	st, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	a := newBenchAgent(0, 100)
	for range (8640 + 49) / 50 { // a day of 10 s steps, 50 steps a batch
		if err := st.Write(context.Background(), a.next()); err != nil {
			b.Fatal(err)
		}
	}
	if err := st.flushOnce(context.Background(), true); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		step time.Duration
	}{{"step=1m", time.Minute}, {"raw", 0}} {
		b.Run(bc.name, func(b *testing.B) {
			q := metrics.Query{
				Measurement: "cpu", Field: "usage_user", Node: "node-000", Tags: map[string]string{"cpu": "cpu7"},
				From: time.Unix(0, benchStart), To: time.Unix(0, benchStart).Add(24 * time.Hour), Step: bc.step, Agg: metrics.Mean,
			}
			for b.Loop() {
				res, err := st.Query(context.Background(), q)
				if err != nil {
					b.Fatal(err)
				}
				want := 8640
				if bc.step > 0 {
					want = 1440
				}
				if len(res) != 1 || len(res[0].Samples) != want {
					n := -1
					if len(res) > 0 {
						n = len(res[0].Samples)
					}
					b.Fatalf("got %d series (the first of %d samples); want 1 of %d", len(res), n, want)
				}
			}
		})
	}
}
