package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// FileOutput appends batches to a file. It creates the file (0644) and its
// parent directories (0755) when missing, writes each batch with one write
// followed by an fsync, and reopens the path when the file was rotated
// away (renamed or removed), so logrotate works without a signal.
type FileOutput struct {
	path string

	mu   sync.Mutex
	f    *os.File
	info fs.FileInfo // of f when opened, to notice rotation
}

var _ Output = (*FileOutput)(nil)

// File returns an output appending to path. Nothing is opened until the
// first Write.
func File(path string) *FileOutput { return &FileOutput{path: path} }

// Name is "file".
func (o *FileOutput) Name() string { return "file" }

// Write appends lp and syncs it to disk. If the write fails part way, the
// file is truncated back so that a retry does not leave a broken line.
func (o *FileOutput) Write(_ context.Context, lp []byte, _ int) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.open(); err != nil {
		return err
	}
	st, err := o.f.Stat()
	if err != nil {
		o.closeLocked()
		return fmt.Errorf("writing to %s: %w", o.path, err)
	}
	if n, err := o.f.Write(lp); err != nil {
		if n > 0 {
			_ = o.f.Truncate(st.Size()) // best effort; the write error is what matters
		}
		o.closeLocked()
		return fmt.Errorf("writing to %s: %w", o.path, err)
	}
	if err := o.f.Sync(); err != nil {
		// After a failed fsync the page cache cannot be trusted: reopen.
		o.closeLocked()
		return fmt.Errorf("syncing %s: %w", o.path, err)
	}
	return nil
}

// open (re)opens the file when it is not open or the path no longer names
// the open file.
func (o *FileOutput) open() error {
	if o.f != nil {
		cur, err := os.Stat(o.path)
		if err == nil && os.SameFile(cur, o.info) {
			return nil
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("checking %s: %w", o.path, err)
		}
		o.closeLocked() // rotated away: the old file is someone else's now
	}
	if err := os.MkdirAll(filepath.Dir(o.path), 0o755); err != nil {
		return fmt.Errorf("creating the directory of %s: %w", o.path, err)
	}
	f, err := os.OpenFile(o.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("opening %s: %w", o.path, err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("opening %s: %w", o.path, err)
	}
	o.f, o.info = f, info
	return nil
}

func (o *FileOutput) closeLocked() error {
	if o.f == nil {
		return nil
	}
	err := o.f.Close()
	o.f, o.info = nil, nil
	return err
}

// Close closes the file; a later Write opens it again.
func (o *FileOutput) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.closeLocked(); err != nil {
		return fmt.Errorf("closing %s: %w", o.path, err)
	}
	return nil
}
