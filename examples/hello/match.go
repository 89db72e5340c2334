package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// file is one matching file's metadata.
type file struct {
	path  string
	size  int64
	mtime time.Time
}

// match returns the regular files matching pattern, sorted by path.
// Directories and other non-regular files are skipped; a file removed
// between the glob and its stat is skipped too.
func match(ctx context.Context, pattern string) ([]file, error) {
	paths, err := filepath.Glob(pattern)
	if err != nil {
		return nil, fmt.Errorf("matching %q: %w", pattern, err)
	}
	sort.Strings(paths)
	out := make([]file, 0, len(paths))
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fi, err := os.Stat(p)
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		out = append(out, file{path: p, size: fi.Size(), mtime: fi.ModTime()})
	}
	return out, nil
}

// checkPattern is a config check shared by both methods: a malformed
// pattern is an error at configuration, not at every gather.
func checkPattern(pattern string) error {
	_, err := filepath.Match(pattern, "")
	return err
}
