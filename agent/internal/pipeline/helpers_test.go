package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/vigilmon/vigil/sdk/metric"
)

// testBatch is n points of one float series; point i has value and time
// first+i, so delivered lines tell which batch they came from.
func testBatch(n, first int) *metric.Batch {
	b := &metric.Batch{Series: []metric.Series{{
		Measurement: "m",
		Tags:        []metric.Tag{{Key: "host", Value: "h"}},
		Fields:      []metric.Field{{Key: "v", Type: metric.Float}},
	}}}
	for i := range n {
		b.PointSeries = append(b.PointSeries, 0)
		b.Times = append(b.Times, int64(first+i))
		b.Floats = append(b.Floats, float64(first+i))
	}
	return b
}

// testLines is what testBatch(n, first) encodes to with node "n1", plugin "p".
func testLines(n, first int) string {
	var sb bytes.Buffer
	for i := first; i < first+n; i++ {
		fmt.Fprintf(&sb, "m,host=h,node=n1,plugin=p v=%d %d\n", i, i)
	}
	return sb.String()
}

// delivery is one Write call seen by an output.
type delivery struct {
	lp     string
	points int
}

// chanOutput sends every Write to got and answers with reply (nil: ok).
// If gate is set, Write first announces itself on started and then waits
// for gate (or ctx) before answering.
type chanOutput struct {
	name    string
	got     chan delivery
	started chan delivery
	gate    chan struct{}
	reply   func(attempt int) error

	mu       sync.Mutex
	attempts int
}

func newChanOutput(name string) *chanOutput {
	return &chanOutput{name: name, got: make(chan delivery, 1000), started: make(chan delivery, 1000)}
}

func (o *chanOutput) Name() string { return o.name }

func (o *chanOutput) Write(ctx context.Context, lp []byte, points int) error {
	d := delivery{string(lp), points}
	o.mu.Lock()
	o.attempts++
	attempt := o.attempts
	o.mu.Unlock()
	if o.gate != nil {
		o.started <- d
		select {
		case <-o.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if o.reply != nil {
		if err := o.reply(attempt); err != nil {
			return err
		}
	}
	o.got <- d
	return nil
}

func (o *chanOutput) attemptCount() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.attempts
}

// fastRetries keeps backoffs tiny so retry tests do not wait.
var fastRetries = Config{Node: "n1", FlushInterval: time.Hour, RetryMin: time.Microsecond, RetryMax: time.Microsecond}

// checkNoLeak fails if the goroutine count does not come back to before.
func checkNoLeak(t *testing.T, before int) {
	t.Helper()
	var now int
	for range 500 {
		if now = runtime.NumGoroutine(); now <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, 1<<20)
	t.Fatalf("%d goroutines before, %d after:\n%s", before, now, buf[:runtime.Stack(buf, true)])
}
