package main

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/vigilmon/vigil/sdk"
)

// running is the "running" promise: the number of selected processes
// must be within [min, max].
type running struct {
	sel      *selector
	min, max int // max < 0: no maximum
}

var _ sdk.Checker = (*running)(nil)

func newRunning(cfg sdk.Config) (sdk.Checker, error) {
	sel, err := newSelector(cfg)
	if err != nil {
		return nil, err
	}
	lo, hi := cfg.Float("min"), cfg.Float("max")
	if lo < 0 || lo != math.Trunc(lo) {
		return nil, sdk.AttributeError("min", "Invalid minimum", "min must be a whole number of processes, 0 or more; got %v", lo)
	}
	if hi != math.Trunc(hi) || hi < -1 {
		return nil, sdk.AttributeError("max", "Invalid maximum", "max must be a whole number of processes, or -1 for no maximum; got %v", hi)
	}
	if hi >= 0 && hi < lo {
		return nil, sdk.AttributeError("max", "Maximum below minimum", "max (%v) is less than min (%v), so no count could be OK", hi, lo)
	}
	return &running{sel: sel, min: int(lo), max: int(hi)}, nil
}

func (r *running) Check(ctx context.Context) (sdk.Result, error) {
	matches, err := r.sel.find(ctx)
	if err != nil {
		return sdk.Result{}, err
	}
	n := len(matches)
	status := sdk.OK
	if n < r.min || (r.max >= 0 && n > r.max) {
		status = sdk.Critical
	}
	noun := "processes"
	if n == 1 {
		noun = "process"
	}
	zero := 0.0
	return sdk.Result{
		Status:  status,
		Message: fmt.Sprintf("PROCS %s: %d %s with %s", status, n, noun, r.sel.describe()),
		Perfdata: []sdk.Perfdata{{
			Label: "procs",
			Value: float64(n),
			Crit:  r.critRange(),
			Min:   &zero,
		}},
	}, nil
}

// critRange is the Nagios range of OK counts: "min:" or "min:max".
func (r *running) critRange() string {
	s := strconv.Itoa(r.min) + ":"
	if r.max >= 0 {
		s += strconv.Itoa(r.max)
	}
	return s
}
