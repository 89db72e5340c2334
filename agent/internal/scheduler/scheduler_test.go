package scheduler

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A run that is still going when the next tick comes is skipped, not
// stacked: with one run blocked, ticks accumulate as skips and only one
// run is ever in flight.
func TestOverlappingRunIsSkippedNotStacked(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 100)
	var inFlight, maxInFlight int32
	s := New([]Task{{Name: "slow", Interval: time.Millisecond, Run: func(ctx context.Context) error {
		inFlight++
		if inFlight > maxInFlight {
			maxInFlight = inFlight
		}
		started <- struct{}{}
		<-release
		inFlight--
		return nil
	}}})
	tick, stop := context.WithCancel(context.Background())
	s.Start(tick, context.Background())
	<-started
	// Wait until at least five ticks were skipped while the run is blocked.
	for s.Stats()["slow"].Skipped < 5 {
		time.Sleep(time.Millisecond)
	}
	stop()
	// While the first run is blocked, every tick was a skip: one run only.
	st := s.Stats()["slow"]
	close(release)
	s.Wait()
	if st.Runs != 1 || maxInFlight != 1 {
		t.Errorf("runs=%d maxInFlight=%d, want 1 and 1 (skipped=%d)", st.Runs, maxInFlight, st.Skipped)
	}
}

func TestFailuresAreCounted(t *testing.T) {
	done := make(chan struct{}, 10)
	s := New([]Task{{Name: "bad", Interval: time.Millisecond, Run: func(ctx context.Context) error {
		done <- struct{}{}
		return errors.New("boom")
	}}})
	tick, stop := context.WithCancel(context.Background())
	s.Start(tick, context.Background())
	for i := 0; i < 3; i++ {
		<-done
	}
	stop()
	s.Wait()
	st := s.Stats()["bad"]
	if st.Failures != st.Runs || st.Runs < 3 {
		t.Errorf("stats = %+v, want every run counted as a failure", st)
	}
}

func TestRunOnceReportsErrorsByTask(t *testing.T) {
	errs := RunOnce(context.Background(), []Task{
		{Name: "ok", Run: func(context.Context) error { return nil }},
		{Name: "bad", Run: func(context.Context) error { return errors.New("boom") }},
	})
	if len(errs) != 1 || errs["bad"] == nil {
		t.Errorf("errs = %v", errs)
	}
}
