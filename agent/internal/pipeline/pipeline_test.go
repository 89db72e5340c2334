package pipeline

import (
	"context"
	"errors"
	"math"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"
	"github.com/vigilmon/vigil/sdk/metric"
)

func TestDeliversEveryBatchToEveryOutput(t *testing.T) {
	a, b := newChanOutput("a"), newChanOutput("b")
	p := New(Config{Node: "n1", BatchSize: 10, FlushInterval: time.Hour}, hclog.NewNullLogger(), a, b)
	defer p.Close(context.Background())
	for i := range 3 {
		if err := p.Write("p", testBatch(10, 10*i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Write("p", testBatch(4, 30)); err != nil { // a partial batch, cut by Flush
		t.Fatal(err)
	}
	if err := p.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []delivery{{testLines(10, 0), 10}, {testLines(10, 10), 10}, {testLines(10, 20), 10}, {testLines(4, 30), 4}}
	for _, o := range []*chanOutput{a, b} {
		var got []delivery
		for range len(want) {
			got = append(got, <-o.got)
		}
		if diff := cmp.Diff(want, got, cmp.AllowUnexported(delivery{})); diff != "" {
			t.Errorf("output %s (-want +got):\n%s", o.name, diff)
		}
	}
	wantStats := map[string]OutputStats{"a": {Sent: 34}, "b": {Sent: 34}}
	if diff := cmp.Diff(wantStats, p.Stats()); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

func TestTickerCutsPartialBatch(t *testing.T) {
	o := newChanOutput("o")
	p := New(Config{Node: "n1", FlushInterval: time.Millisecond}, nil, o)
	defer p.Close(context.Background())
	if err := p.Write("p", testBatch(3, 0)); err != nil {
		t.Fatal(err)
	}
	if got := <-o.got; got.lp != testLines(3, 0) {
		t.Errorf("got %q", got.lp)
	}
}

func TestWriteReportsEncodingProblems(t *testing.T) {
	o := newChanOutput("o")
	p := New(Config{Node: "n1", FlushInterval: time.Hour}, nil, o)
	defer p.Close(context.Background())
	b := testBatch(3, 0)
	b.Floats[1] = math.NaN()
	err := p.Write("p", b)
	if err == nil || !strings.Contains(err.Error(), "encoding points of plugin p") {
		t.Errorf("Write error = %v", err)
	}
	if err := p.Write("p", &metric.Batch{PointSeries: []uint32{0}}); err == nil {
		t.Error("malformed batch accepted")
	}
	if err := p.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := (<-o.got).lp, testLines(1, 0)+testLines(1, 2); got != want {
		t.Errorf("delivered %q, want %q", got, want)
	}
	if diff := cmp.Diff(EncodeStats{Points: 2, Dropped: 1, DroppedFields: 1}, p.Encoded()); diff != "" {
		t.Errorf("encode stats (-want +got):\n%s", diff)
	}
}

// TestSlowOutputIsolated: an output stuck in Write delays neither Write
// nor another output's deliveries.
func TestSlowOutputIsolated(t *testing.T) {
	stuck, fast := newChanOutput("stuck"), newChanOutput("fast")
	stuck.gate = make(chan struct{}) // never opened until the end
	p := New(Config{Node: "n1", BatchSize: 5, QueueBatches: 3, FlushInterval: time.Hour}, nil, stuck, fast)
	for i := range 20 {
		if err := p.Write("p", testBatch(5, 5*i)); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			<-stuck.started // batch 0 is stuck in Write; the rest queue up
		}
		if got := <-fast.got; got.lp != testLines(5, 5*i) {
			t.Fatalf("fast output got %q for batch %d", got.lp, i)
		}
	}
	st := p.Stats()["stuck"]
	if st.Sent != 0 || st.Dropped != 5*(20-1-3) || st.Queued != 5*(1+3) {
		t.Errorf("stuck output stats %+v", st)
	}
	close(stuck.gate)
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestQueueFullDropsOldest(t *testing.T) {
	o := newChanOutput("o")
	o.gate = make(chan struct{})
	p := New(Config{Node: "n1", BatchSize: 10, QueueBatches: 2, FlushInterval: time.Hour}, nil, o)
	defer p.Close(context.Background())
	write := func(i int) {
		if err := p.Write("p", testBatch(10, 10*i)); err != nil {
			t.Fatal(err)
		}
	}
	write(0)
	<-o.started // batch 0 is in flight, the queue is empty
	for i := 1; i <= 5; i++ {
		write(i) // the queue keeps the last two: 4 and 5
	}
	if diff := cmp.Diff(OutputStats{Dropped: 30, Queued: 30}, p.Stats()["o"]); diff != "" {
		t.Errorf("stats while blocked (-want +got):\n%s", diff)
	}
	close(o.gate)
	err := p.Flush(context.Background())
	if err == nil || !strings.Contains(err.Error(), "output o: 3 batches (30 points) not delivered, first: queue full") {
		t.Errorf("Flush error = %v", err)
	}
	var got []string
	for range 3 {
		got = append(got, (<-o.got).lp)
	}
	if diff := cmp.Diff([]string{testLines(10, 0), testLines(10, 40), testLines(10, 50)}, got); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(OutputStats{Sent: 30, Dropped: 30}, p.Stats()["o"]); diff != "" {
		t.Errorf("final stats (-want +got):\n%s", diff)
	}
	if err := p.Flush(context.Background()); err != nil {
		t.Errorf("second Flush reported again: %v", err)
	}
}

func TestRetries(t *testing.T) {
	errDown := errors.New("target down")
	tests := []struct {
		name         string
		maxRetries   int
		reply        func(attempt int) error
		wantAttempts int
		wantStats    OutputStats
		wantErr      string
	}{
		{
			name: "retry then success",
			reply: func(attempt int) error {
				if attempt <= 2 {
					return errDown
				}
				return nil
			},
			wantAttempts: 3,
			wantStats:    OutputStats{Sent: 4},
		},
		{
			name:         "permanent error not retried",
			reply:        func(int) error { return Permanent(errors.New("refused")) },
			wantAttempts: 1,
			wantStats:    OutputStats{Failed: 4, LastError: "refused"},
			wantErr:      "output o: 1 batches (4 points) not delivered, first: refused",
		},
		{
			name:         "retries exhausted",
			maxRetries:   2,
			reply:        func(int) error { return errDown },
			wantAttempts: 3,
			wantStats:    OutputStats{Failed: 4, LastError: "target down"},
			wantErr:      "output o: 1 batches (4 points) not delivered, first: target down",
		},
		{
			name:         "no retries",
			maxRetries:   -1,
			reply:        func(int) error { return errDown },
			wantAttempts: 1,
			wantStats:    OutputStats{Failed: 4, LastError: "target down"},
			wantErr:      "target down",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := newChanOutput("o")
			o.reply = tc.reply
			cfg := fastRetries
			cfg.MaxRetries = tc.maxRetries
			p := New(cfg, nil, o)
			defer p.Close(context.Background())
			if err := p.Write("p", testBatch(4, 0)); err != nil {
				t.Fatal(err)
			}
			err := p.Flush(context.Background())
			if (err == nil) != (tc.wantErr == "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Flush error = %v, want %q", err, tc.wantErr)
			}
			if got := o.attemptCount(); got != tc.wantAttempts {
				t.Errorf("%d attempts, want %d", got, tc.wantAttempts)
			}
			if diff := cmp.Diff(tc.wantStats, p.Stats()["o"]); diff != "" {
				t.Errorf("stats (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBackoffBounds(t *testing.T) {
	r := retryPolicy{min: 100, max: 1000}
	for attempt, ceiling := range []time.Duration{100, 200, 400, 800, 1000, 1000, 1000} {
		var top time.Duration
		for range 2000 {
			d := r.backoff(attempt)
			if d < 0 || d > ceiling {
				t.Fatalf("attempt %d: backoff %v outside [0, %v]", attempt, d, ceiling)
			}
			top = max(top, d)
		}
		if top < ceiling/2 {
			t.Errorf("attempt %d: largest of 2000 backoffs %v, ceiling %v: not jittered over the range", attempt, top, ceiling)
		}
	}
	if d := (retryPolicy{min: time.Hour, max: 2 * time.Hour}).backoff(1000); d > 2*time.Hour || d < 0 {
		t.Errorf("huge attempt: %v", d)
	}
}

func TestFlushWaitsForDelivery(t *testing.T) {
	o := newChanOutput("o")
	o.gate = make(chan struct{})
	p := New(Config{Node: "n1", FlushInterval: time.Hour}, nil, o)
	defer p.Close(context.Background())
	if err := p.Write("p", testBatch(2, 0)); err != nil {
		t.Fatal(err)
	}
	flushed := make(chan error, 1)
	go func() { flushed <- p.Flush(context.Background()) }()
	<-o.started
	select {
	case err := <-flushed:
		t.Fatalf("Flush returned (%v) while the output was still writing", err)
	default:
	}
	close(o.gate)
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	if st := p.Stats()["o"]; st.Sent != 2 {
		t.Errorf("after Flush: %+v", st)
	}
}

func TestFlushInterrupted(t *testing.T) {
	o := newChanOutput("o")
	o.gate = make(chan struct{})
	p := New(Config{Node: "n1", FlushInterval: time.Hour}, nil, o)
	defer p.Close(context.Background())
	defer close(o.gate)
	if err := p.Write("p", testBatch(2, 0)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-o.started
		cancel()
	}()
	if err := p.Flush(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Flush error = %v, want context.Canceled", err)
	}
}

func TestCloseDrains(t *testing.T) {
	o := newChanOutput("o")
	o.gate = make(chan struct{})
	p := New(Config{Node: "n1", BatchSize: 3, FlushInterval: time.Hour}, nil, o)
	for i := range 4 {
		if err := p.Write("p", testBatch(3, 3*i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Write("p", testBatch(1, 12)); err != nil { // partial: cut by Close
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- p.Close(context.Background()) }()
	<-o.started
	close(o.gate)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(OutputStats{Sent: 13}, p.Stats()["o"]); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	if err := p.Write("p", testBatch(1, 0)); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}
	if err := p.Flush(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Flush after Close: %v", err)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestCloseDeadlineAbandonsRest(t *testing.T) {
	before := runtime.NumGoroutine()
	o := newChanOutput("o")
	o.gate = make(chan struct{}) // never opened: Write returns only on ctx
	p := New(Config{Node: "n1", BatchSize: 2, FlushInterval: time.Hour}, nil, o)
	for i := range 3 {
		if err := p.Write("p", testBatch(2, 2*i)); err != nil {
			t.Fatal(err)
		}
	}
	<-o.started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := p.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "outputs did not drain in time, 6 points abandoned") {
		t.Errorf("Close error = %v", err)
	}
	if diff := cmp.Diff(OutputStats{Dropped: 6}, p.Stats()["o"]); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	checkNoLeak(t, before)
}

func TestConcurrentWriters(t *testing.T) {
	o := newChanOutput("o")
	p := New(Config{Node: "n1", BatchSize: 100, FlushInterval: time.Hour}, nil, o)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				if err := p.Write("p", testBatch(7, 1000*g+i)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	close(o.got)
	lines := 0
	for d := range o.got {
		if !strings.HasSuffix(d.lp, "\n") || strings.Count(d.lp, "\n") != d.points {
			t.Fatalf("batch of %d points is not whole lines: %q", d.points, d.lp)
		}
		lines += d.points
	}
	if lines != 4*50*7 {
		t.Errorf("%d lines delivered, want %d", lines, 4*50*7)
	}
}

func TestDuplicateOutputNames(t *testing.T) {
	p := New(Config{}, nil, newChanOutput("file"), newChanOutput("file"), newChanOutput("x"))
	defer p.Close(context.Background())
	want := map[string]OutputStats{"file": {}, "file-2": {}, "x": {}}
	if diff := cmp.Diff(want, p.Stats()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestNoOutputs(t *testing.T) {
	p := New(Config{Node: "n1", BatchSize: 1}, nil)
	if err := p.Write("p", testBatch(3, 0)); err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}
