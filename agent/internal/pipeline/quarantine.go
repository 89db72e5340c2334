package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// quarantine keeps the batches a spooled output refused as bad data, as
// <id>.lp (the lines) and <id>.json (why), within bounds: the newest
// maxBatches batches and maxBytes bytes (the newest batch is always kept).
type quarantine struct {
	dir        string
	maxBatches int
	maxBytes   int64
	mu         sync.Mutex
	now        func() time.Time // for tests; nil: time.Now
}

// quarantineNote is the <id>.json file.
type quarantineNote struct {
	ID     string          `json:"id"`
	Output string          `json:"output"`
	Time   time.Time       `json:"time"`
	Points int             `json:"points"`
	Error  string          `json:"error"`
	Reply  json.RawMessage `json:"response,omitempty"` // the target's JSON answer, if any
}

// put writes the batch and its note, then prunes the oldest batches.
func (q *quarantine) put(id, output string, lp []byte, points int, cause error) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := time.Now
	if q.now != nil {
		now = q.now
	}
	note := quarantineNote{ID: id, Output: output, Time: now().UTC(), Points: points, Error: cause.Error()}
	var rej *RejectedError
	if errors.As(cause, &rej) && json.Valid(rej.Body) {
		note.Reply = rej.Body
	}
	js, err := json.MarshalIndent(note, "", "  ")
	if err != nil {
		return fmt.Errorf("quarantining batch %s: %w", id, err)
	}
	if err := os.MkdirAll(q.dir, 0o700); err != nil {
		return fmt.Errorf("quarantining batch %s: %w", id, err)
	}
	base := filepath.Join(q.dir, fileSafe(id))
	if err := writeFileAtomic(base+".lp", lp); err != nil {
		return fmt.Errorf("quarantining batch %s: %w", id, err)
	}
	if err := writeFileAtomic(base+".json", append(js, '\n')); err != nil {
		return fmt.Errorf("quarantining batch %s: %w", id, err)
	}
	return q.prune(fileSafe(id))
}

// prune removes the oldest batches beyond the bounds, never keep.
func (q *quarantine) prune(keep string) error {
	entries, err := os.ReadDir(q.dir)
	if err != nil {
		return fmt.Errorf("pruning the quarantine: %w", err)
	}
	type held struct {
		name  string
		mtime time.Time
		size  int64
	}
	byName := map[string]*held{}
	var batches []*held
	for _, e := range entries {
		name, ext, ok := strings.Cut(e.Name(), ".")
		if !ok || ext != "lp" && ext != "json" {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		h := byName[name]
		if h == nil {
			h = &held{name: name}
			byName[name] = h
			batches = append(batches, h)
		}
		h.size += info.Size()
		if ext == "json" {
			h.mtime = info.ModTime()
		}
	}
	// Newest first.
	slices.SortFunc(batches, func(a, b *held) int {
		if c := b.mtime.Compare(a.mtime); c != 0 {
			return c
		}
		return strings.Compare(b.name, a.name)
	})
	var bytes int64
	var errs []error
	for i, h := range batches {
		bytes += h.size
		if h.name == keep || i < q.maxBatches && bytes <= q.maxBytes {
			continue
		}
		for _, ext := range []string{".lp", ".json"} {
			if err := os.Remove(filepath.Join(q.dir, h.name+ext)); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("pruning the quarantine: %w", err)
	}
	return nil
}

// fileSafe returns id if it is a safe file name (letters, digits, - and _,
// at most 128), else a hash of it.
func fileSafe(id string) string {
	ok := id != "" && len(id) <= 128
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			ok = false
			break
		}
	}
	if ok {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "id-" + hex.EncodeToString(sum[:16])
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
