package sdk

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestWatchParentNoticesReparenting(t *testing.T) {
	var ppid atomic.Int64
	ppid.Store(4242)
	gone := make(chan struct{})
	go watchParent(func() int { return int(ppid.Load()) }, time.Millisecond, func() { close(gone) })
	select {
	case <-gone:
		t.Fatal("gone called while the parent is alive")
	case <-time.After(20 * time.Millisecond):
	}
	ppid.Store(1) // re-parented to init
	<-gone
}
