package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/vigilmon/vigil/agent/internal/lineproto"
	"github.com/vigilmon/vigil/agent/internal/pipeline"
	"github.com/vigilmon/vigil/sdk/host"
	"github.com/vigilmon/vigil/sdk/metric"
)

// series is the number of distinct series the counter plugin spreads its
// points over; every point has 3 tags (host, region, series) and 2 float
// fields (seq, value).
const series = 50

// BenchmarkPluginToLineProtocol measures target (a): points per second from
// one plugin process, over go-plugin, into encoded, tagged line protocol.
//
//   - batch=1 is the baseline: one Batch message per point, as a protocol
//     with one message per point would do.
//   - batch=10000 is what the agent asks for by default.
//   - batch=10000/mtls adds AutoMTLS (the agent's default).
//   - batch=10000/collect-only leaves out the encoding: the transport alone.
//   - agent runs the real `vigil agent --test` on the counter plugin: the
//     agent's own encoder and pipeline, and its stdout output.
func BenchmarkPluginToLineProtocol(b *testing.B) {
	b.Run("batch=1", func(b *testing.B) { benchCollect(b, 1, 2_000, false, true) })
	b.Run("batch=10000", func(b *testing.B) { benchCollect(b, 10_000, 200_000, false, true) })
	b.Run("batch=10000/mtls", func(b *testing.B) { benchCollect(b, 10_000, 200_000, true, true) })
	b.Run("batch=10000/collect-only", func(b *testing.B) { benchCollect(b, 10_000, 200_000, false, false) })
	b.Run("batch=10000/pipeline", benchPipeline)
	b.Run("agent", benchAgent)
}

// benchCollect launches the counter plugin once and, per iteration, collects
// points points in batches of batchSize and (if encode) encodes every batch
// into a reused buffer.
func benchCollect(b *testing.B, batchSize, points int, mtls, encode bool) {
	ctx := context.Background()
	p := launch(b, mtls)
	defer p.Close()
	configure(b, p, points)
	enc := lineproto.NewEncoder("bench-node", map[string]string{"site": "bench"})
	var buf []byte
	collect := func() int {
		n := 0
		err := p.Collect(ctx, "c", batchSize, func(mb *metric.Batch) error {
			n += mb.Len()
			if !encode {
				return nil
			}
			var err error
			buf, _, err = enc.Append(buf[:0], "counter", mb)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		if n != points {
			b.Fatalf("collected %d points, want %d", n, points)
		}
		return n
	}
	collect() // warm up: connection, both heaps, the buffer
	total := 0
	for b.Loop() {
		total += collect()
	}
	reportPoints(b, total)
}

// benchPipeline sends the counter plugin's batches through the agent's
// pipeline (tagging, encoding, batching) into an output that discards,
// and waits for delivery with Flush on every iteration.
func benchPipeline(b *testing.B) {
	const points = 200_000
	ctx := context.Background()
	p := launch(b, false)
	defer p.Close()
	configure(b, p, points)
	pipe := pipeline.New(pipeline.Config{Node: "bench-node", Tags: map[string]string{"site": "bench"}}, hclog.NewNullLogger(), pipeline.Stdout(io.Discard))
	defer pipe.Close(ctx)
	collect := func() int {
		n := 0
		err := p.Collect(ctx, "c", 10_000, func(mb *metric.Batch) error {
			n += mb.Len()
			return pipe.Write("counter", mb)
		})
		if err != nil {
			b.Fatal(err)
		}
		if err := pipe.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		return n
	}
	collect()
	total := 0
	for b.Loop() {
		total += collect()
	}
	reportPoints(b, total)
}

// benchAgent runs `vigil agent --test` (gather once, line protocol to
// stdout) with the counter plugin configured for points points. The time
// includes the agent's start and stop, the plugin's launch (AutoMTLS, the
// agent's default) and the draining of stdout, so the figure is a lower
// bound of the steady rate.
func benchAgent(b *testing.B) {
	const points = 1_000_000
	dir := b.TempDir()
	conf := filepath.Join(dir, "agent.hcl")
	config := fmt.Sprintf(`
agent {
  node     = "bench-node"
  data_dir = "data"
  tags     = { site = "bench" }
}
plugin "counter" {
  version = "0.1.0"
  collect = ["seq"]
  config  = { points = %d, series = %d }
}
output "stdout" {}
`, points, series)
	if err := os.WriteFile(conf, []byte(config), 0o644); err != nil {
		b.Fatal(err)
	}
	if out, err := exec.Command(vigilBin, "install", "--config", conf, "--from-file", counterBin).CombinedOutput(); err != nil {
		b.Fatalf("vigil install: %v\n%s", err, out)
	}
	run := func() int {
		cmd := exec.Command(vigilBin, "agent", "--config", conf, "--test")
		cmd.Dir = dir
		lines := &lineCounter{}
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = lines, &stderr
		if err := cmd.Run(); err != nil {
			b.Fatalf("vigil agent --test: %v\n%s", err, stderr.Bytes())
		}
		if lines.n != points {
			b.Fatalf("vigil agent --test printed %d lines, want %d\n%s", lines.n, points, stderr.Bytes())
		}
		return lines.n
	}
	run() // warm up the page cache
	total := 0
	for b.Loop() {
		total += run()
	}
	reportPoints(b, total)
}

// lineCounter counts the lines written to it and keeps nothing.
type lineCounter struct{ n int }

func (c *lineCounter) Write(p []byte) (int, error) {
	c.n += bytes.Count(p, []byte{'\n'})
	return len(p), nil
}

func reportPoints(b *testing.B, points int) {
	b.ReportMetric(float64(points)/b.Elapsed().Seconds(), "points/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(points), "ns/point")
}

// BenchmarkPluginStartToFirstCollect measures target (b): from Launch to
// the end of the first successful Collect, through the checksum, the
// handshake, the manifest and Configure. Each iteration launches the
// counter plugin, configures one instance, collects once and closes it;
// the close is not part of the measured duration.
//
//   - plain: checksum verified, no AutoMTLS (the target's ≤ 15 ms case).
//   - mtls+checksum: both (the target's ≤ 40 ms case, the agent's default).
//   - no-checksum and mtls leave the checksum out, to show what it costs
//     and to compare with the baseline (a minimal go-plugin: ~9 ms,
//     ~31 ms with AutoMTLS).
func BenchmarkPluginStartToFirstCollect(b *testing.B) {
	b.Run("plain", func(b *testing.B) { benchStart(b, true, false) })
	b.Run("mtls+checksum", func(b *testing.B) { benchStart(b, true, true) })
	b.Run("no-checksum", func(b *testing.B) { benchStart(b, false, false) })
	b.Run("mtls", func(b *testing.B) { benchStart(b, false, true) })
}

func benchStart(b *testing.B, checksum, mtls bool) {
	ctx := context.Background()
	var ds []time.Duration
	for b.Loop() {
		start := time.Now()
		p := launchWith(b, checksum, mtls)
		configure(b, p, 3)
		n := 0
		if err := p.Collect(ctx, "c", 0, func(mb *metric.Batch) error { n += mb.Len(); return nil }); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(start))
		if n != 3 {
			b.Fatalf("collected %d points, want 3", n)
		}
		p.Close()
	}
	slices.Sort(ds)
	b.ReportMetric(ms(quantile(ds, 0.5)), "median-ms")
	b.ReportMetric(ms(quantile(ds, 0.9)), "p90-ms")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// quantile returns the q-quantile of sorted durations (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// launch starts the counter plugin with its checksum verified.
func launch(b *testing.B, mtls bool) *host.Plugin { return launchWith(b, true, mtls) }

func launchWith(b *testing.B, checksum, mtls bool) *host.Plugin {
	b.Helper()
	cfg := host.Config{Path: counterBin, AutoMTLS: mtls, SocketDir: socketDir}
	if checksum {
		cfg.SHA256 = counterSum
	}
	p, err := host.Launch(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// configure sets up instance "c" of the counter's collector.
func configure(b *testing.B, p *host.Plugin, points int) {
	b.Helper()
	cfg := fmt.Appendf(nil, `{"points":%d,"series":%d}`, points, series)
	diags, err := p.Configure(context.Background(), []host.Instance{{ID: "c", Kind: host.Collector, Method: "seq", Config: cfg}})
	if err != nil {
		p.Close()
		b.Fatal(err)
	}
	if len(diags) > 0 {
		p.Close()
		b.Fatalf("configuring the counter plugin: %+v", diags)
	}
}
