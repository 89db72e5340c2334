package install

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
)

// workPrefix names the temporary directories registry installs download
// and unpack into, beside the plugin dir.
const workPrefix = ".vigil-install-"

// freshWork is how long an empty, unlocked work directory is left alone:
// its install may have made it and not locked it yet.
const freshWork = time.Minute

// workDir makes a temporary directory in parent and holds an exclusive
// flock on it until done is called, which also removes it. Before that it
// removes the work directories of installs that died midway (SIGKILL, a
// crash): those whose lock it can take. done must be called.
func workDir(parent string, log hclog.Logger) (dir string, done func(), err error) {
	sweepWork(parent, log)
	dir, err = os.MkdirTemp(parent, workPrefix)
	if err != nil {
		return "", nil, fmt.Errorf("making a temporary directory: %w", err)
	}
	f, err := os.Open(dir)
	if err == nil {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("locking the temporary directory %s: %w", dir, err)
	}
	return dir, func() {
		os.RemoveAll(dir)
		f.Close() // releases the lock
	}, nil
}

// sweepWork removes the work directories in parent whose install is gone:
// nobody holds their lock, and they hold files (an install locks its
// directory before writing into it) or are older than freshWork.
func sweepWork(parent string, log hclog.Logger) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), workPrefix) {
			continue
		}
		path := filepath.Join(parent, e.Name())
		if err := sweepOne(path); err != nil {
			log.Warn("removing what an interrupted install left", "path", path, "error", err)
		}
	}
}

func sweepOne(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return nil // gone meanwhile
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil // an install at work
		}
		return err
	}
	names, err := f.Readdirnames(1)
	if len(names) == 0 && err != nil {
		if fi, serr := f.Stat(); serr != nil || time.Since(fi.ModTime()) < freshWork {
			return nil
		}
	}
	return os.RemoveAll(path)
}
