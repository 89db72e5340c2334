package queryapi

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vigilmon/vigil/registry/internal/metrics"
)

// defaultRange is how far back from goes when it is not given.
const defaultRange = time.Hour

// The times a point can have: Unix nanoseconds in an int64.
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// paramError is a bad query parameter: a 400 whose message starts with the
// parameter's name.
type paramError struct {
	Param string
	Err   error
}

func (e *paramError) Error() string { return e.Param + ": " + e.Err.Error() }
func (e *paramError) Unwrap() error { return e.Err }

func badParam(param string, format string, args ...any) error {
	return &paramError{Param: param, Err: fmt.Errorf(format, args...)}
}

// parseQuery turns the URL query of a request into a metrics.Query, with
// now as the meaning of "now" and the default end of the range.
//
// Parameters: node, measurement (required), field (required), tag.<key>
// (any number), from and to (RFC 3339, Unix seconds, "now", or a duration
// relative to now such as "-1h" or "now-30m"; to defaults to now and from
// to an hour before to), step (a Go duration; empty or 0 for raw samples)
// and agg (mean, max, min or last; default mean). Anything else, and any
// parameter given twice, is an error.
func parseQuery(v url.Values, now time.Time) (metrics.Query, error) {
	var q metrics.Query
	for name, vals := range v {
		if len(vals) > 1 {
			return q, badParam(name, "given %d times; give it once", len(vals))
		}
		switch name {
		case "node", "measurement", "field", "from", "to", "step", "agg":
		default:
			key, ok := strings.CutPrefix(name, "tag.")
			if !ok {
				return q, badParam(name, "unknown parameter; want node, measurement, field, tag.<key>, from, to, step or agg")
			}
			if key == "" {
				return q, badParam(name, "the tag key after \"tag.\" is empty")
			}
			if vals[0] == "" {
				return q, badParam(name, "empty value; a tag filter needs a value")
			}
			if q.Tags == nil {
				q.Tags = map[string]string{}
			}
			q.Tags[key] = vals[0]
		}
	}
	q.Node = v.Get("node")
	if q.Measurement = v.Get("measurement"); q.Measurement == "" {
		return q, badParam("measurement", "required")
	}
	if q.Field = v.Get("field"); q.Field == "" {
		return q, badParam("field", "required")
	}

	q.To = now
	if s := v.Get("to"); s != "" {
		t, err := parseTime(s, now)
		if err != nil {
			return q, &paramError{Param: "to", Err: err}
		}
		q.To = t
	}
	q.From = q.To.Add(-defaultRange)
	if s := v.Get("from"); s != "" {
		t, err := parseTime(s, now)
		if err != nil {
			return q, &paramError{Param: "from", Err: err}
		}
		q.From = t
	}
	for _, b := range []struct {
		name string
		t    time.Time
	}{{"to", q.To}, {"from", q.From}} {
		if b.t.Before(minTime) || b.t.After(maxTime) {
			return q, badParam(b.name, "%s is outside the years 1678 to 2262 that nanosecond timestamps cover", b.t.Format(time.RFC3339))
		}
	}
	if !q.From.Before(q.To) {
		return q, badParam("from", "%s is not before to (%s)", q.From.Format(time.RFC3339Nano), q.To.Format(time.RFC3339Nano))
	}

	if s := v.Get("step"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return q, &paramError{Param: "step", Err: err}
		}
		if d < 0 {
			return q, badParam("step", "%s is negative", s)
		}
		q.Step = d
	}
	q.Agg = metrics.Mean
	if s := v.Get("agg"); s != "" {
		switch a := metrics.Agg(s); a {
		case metrics.Mean, metrics.Max, metrics.Min, metrics.Last:
			q.Agg = a
		default:
			return q, badParam("agg", "%q is not one of mean, max, min, last", s)
		}
	}
	return q, nil
}

var errTimeSyntax = errors.New(`want RFC 3339 (2026-11-22T10:00:00Z), Unix seconds, "now", or a duration from now such as "-1h"`)

// parseTime reads one bound of the range: RFC 3339, Unix seconds (with an
// optional fraction), "now", "now-1h", "now+5m", "-1h" or "+5m".
func parseTime(s string, now time.Time) (time.Time, error) {
	rel, isRel := strings.CutPrefix(s, "now")
	if isRel && rel == "" {
		return now, nil
	}
	if !isRel && (strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+")) {
		rel, isRel = s, true
	}
	if isRel {
		if rel[0] != '-' && rel[0] != '+' {
			return time.Time{}, fmt.Errorf("%q: %w", s, errTimeSyntax)
		}
		d, err := time.ParseDuration(rel)
		if err != nil {
			return time.Time{}, err
		}
		return now.Add(d), nil
	}
	if s[0] >= '0' && s[0] <= '9' && !strings.ContainsAny(s, "-:T") {
		return parseUnix(s)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: %w", s, errTimeSyntax)
	}
	return t, nil
}

// parseUnix reads Unix seconds with up to nine decimals, exactly.
func parseUnix(s string) (time.Time, error) {
	whole, frac, hasFrac := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || (hasFrac && (frac == "" || len(frac) > 9)) {
		return time.Time{}, fmt.Errorf("%q: %w", s, errTimeSyntax)
	}
	var nsec int64
	if hasFrac {
		n, err := strconv.ParseUint(frac, 10, 32)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q: %w", s, errTimeSyntax)
		}
		nsec = int64(n)
		for range 9 - len(frac) {
			nsec *= 10
		}
	}
	return time.Unix(sec, nsec).UTC(), nil
}
