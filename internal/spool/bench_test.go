package spool

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// batchLP is n realistic line-protocol points: 3 tags, 3 fields, ns time.
func batchLP(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	var b []byte
	for i := range n {
		b = fmt.Appendf(b, "cpu,cpu=cpu%d,host=web-%d.example.net,region=eu-west usage_user=%.2f,usage_system=%.2f,usage_idle=%.2f %d\n",
			i%16, i%50, r.Float64()*100, r.Float64()*100, r.Float64()*100, 1_700_000_000_000_000_000+int64(i)*1_000_000)
	}
	return b
}

// memory returns the live heap and the resident set size, after two GCs
// (the second empties the sync.Pools' victim caches).
func memory() (heap, rss uint64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 {
			pages, _ := strconv.ParseUint(f[1], 10, 64)
			rss = pages * uint64(os.Getpagesize())
		}
	}
	return ms.HeapInuse, rss
}

// BenchmarkAppend appends 10,000-point batches (~1 MiB), each fsynced,
// with nothing reading them: the backlog of an output that is down. Run
// with -benchtime 500x for a ~500 MB backlog; heap and RSS are reported
// before and after to show that memory stays flat.
func BenchmarkAppend(b *testing.B) {
	const points = 10000
	data := batchLP(points)
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	heap0, rss0 := memory()
	b.SetBytes(int64(len(data)))
	i := 0
	for b.Loop() {
		i++
		if _, _, err := s.Append(Record{ID: strconv.Itoa(i), Count: points, Data: data}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	heap1, rss1 := memory()
	b.ReportMetric(float64(b.N)*points/b.Elapsed().Seconds(), "points/s")
	b.ReportMetric(float64(s.Stats().Bytes)/(1<<20), "backlog-MiB")
	b.ReportMetric(float64(heap0)/(1<<20), "heap-before-MiB")
	b.ReportMetric(float64(heap1)/(1<<20), "heap-after-MiB")
	b.ReportMetric(float64(rss0)/(1<<20), "rss-before-MiB")
	b.ReportMetric(float64(rss1)/(1<<20), "rss-after-MiB")
}

// BenchmarkAppendParallel is BenchmarkAppend from 4 goroutines per CPU:
// concurrent Appends share fsyncs.
func BenchmarkAppendParallel(b *testing.B) {
	const points = 10000
	data := batchLP(points)
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.SetBytes(int64(len(data)))
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := s.Append(Record{ID: "x", Count: points, Data: data}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)*points/b.Elapsed().Seconds(), "points/s")
}

// BenchmarkNextAck reads back and acknowledges 10,000-point batches.
func BenchmarkNextAck(b *testing.B) {
	const points = 10000
	data := batchLP(points)
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for range b.N {
		if _, _, err := s.Append(Record{ID: "x", Count: points, Data: data}); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		r, err := s.Next(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Ack(r.Seq); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*points/b.Elapsed().Seconds(), "points/s")
}
