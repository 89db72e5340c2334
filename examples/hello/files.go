package main

import (
	"context"
	"fmt"

	"github.com/vigilmon/vigil/sdk"
)

// files is the "files" collector.
type files struct {
	patterns []string
	maxFiles int
}

var _ sdk.Gatherer = (*files)(nil)

func newFiles(cfg sdk.Config) (sdk.Gatherer, error) {
	c := &files{patterns: cfg.Strings("paths"), maxFiles: cfg.Int("max_files")}
	if len(c.patterns) == 0 {
		return nil, sdk.AttributeError("paths", "No patterns", "paths must list at least one glob pattern, such as \"/var/backups/*.tar.gz\"")
	}
	for _, p := range c.patterns {
		if err := checkPattern(p); err != nil {
			return nil, sdk.AttributeError("paths", "Invalid glob pattern", "%q: %v", p, err)
		}
	}
	if c.maxFiles < 1 {
		return nil, sdk.AttributeError("max_files", "Invalid maximum", "max_files must be 1 or more; got %d", c.maxFiles)
	}
	return c, nil
}

// Gather reports every pattern: one failing pattern does not hide the
// others.
func (c *files) Gather(ctx context.Context, acc *sdk.Accumulator) error {
	now := acc.Time()
	for _, pattern := range c.patterns {
		found, err := match(ctx, pattern)
		if err != nil {
			acc.AddError(err)
			continue
		}
		acc.AddFields("hello_glob", map[string]string{"pattern": pattern},
			map[string]any{"matches": float64(len(found))}, now)
		if len(found) > c.maxFiles {
			acc.AddError(fmt.Errorf("pattern %q matches %d files, more than max_files (%d): files not reported", pattern, len(found), c.maxFiles))
			continue
		}
		for _, f := range found {
			acc.AddFields("hello_file", map[string]string{"path": f.path},
				map[string]any{"size_bytes": float64(f.size), "age_seconds": now.Sub(f.mtime).Seconds()}, now)
		}
	}
	return nil
}
