package main

import (
	"context"
	"fmt"
	"time"

	"github.com/vigilmon/vigil/sdk"
)

// fresh is the "fresh" promise.
type fresh struct {
	pattern         string
	maxAge, warnAge time.Duration
	now             func() time.Time
}

var _ sdk.Checker = (*fresh)(nil)

func newFresh(cfg sdk.Config) (sdk.Checker, error) {
	c := &fresh{pattern: cfg.String("path"), now: time.Now}
	if c.pattern == "" {
		return nil, sdk.AttributeError("path", "No pattern", "path must be a glob pattern, such as \"/var/backups/*.tar.gz\"")
	}
	if err := checkPattern(c.pattern); err != nil {
		return nil, sdk.AttributeError("path", "Invalid glob pattern", "%q: %v", c.pattern, err)
	}
	var err error
	if c.maxAge, err = cfg.Duration("max_age"); err != nil || c.maxAge <= 0 {
		return nil, sdk.AttributeError("max_age", "Invalid maximum age", "max_age must be a positive duration such as \"24h\"")
	}
	if c.warnAge, err = cfg.Duration("warn_age"); err != nil || c.warnAge < 0 {
		return nil, sdk.AttributeError("warn_age", "Invalid warning age", "warn_age must be a duration such as \"12h\", or \"0s\" for no warning")
	}
	if c.warnAge >= c.maxAge {
		return nil, sdk.AttributeError("warn_age", "Warning age not below maximum age",
			"warn_age (%s) must be less than max_age (%s), or 0s for no warning", c.warnAge, c.maxAge)
	}
	return c, nil
}

func (c *fresh) Check(ctx context.Context) (sdk.Result, error) {
	found, err := match(ctx, c.pattern)
	if err != nil {
		return sdk.Result{}, err
	}
	if len(found) == 0 {
		return sdk.Resultf(sdk.Critical, "FRESH CRITICAL: no file matches %s", c.pattern), nil
	}
	now := c.now()
	oldest := found[0]
	for _, f := range found[1:] {
		if f.mtime.Before(oldest.mtime) {
			oldest = f
		}
	}
	age := now.Sub(oldest.mtime).Truncate(time.Second)
	status := sdk.OK
	switch {
	case age > c.maxAge:
		status = sdk.Critical
	case c.warnAge > 0 && age > c.warnAge:
		status = sdk.Warning
	}
	noun := "files"
	if len(found) == 1 {
		noun = "file"
	}
	res := sdk.Result{
		Status:  status,
		Message: fmt.Sprintf("FRESH %s: %d %s, oldest %s modified %s ago (max %s)", status, len(found), noun, oldest.path, age, c.maxAge),
		Perfdata: []sdk.Perfdata{
			{Label: "oldest_age", Value: age.Seconds(), Unit: "s", Crit: fmt.Sprint(c.maxAge.Seconds())},
			{Label: "files", Value: float64(len(found))},
		},
	}
	if c.warnAge > 0 {
		res.Perfdata[0].Warn = fmt.Sprint(c.warnAge.Seconds())
	}
	return res, nil
}
