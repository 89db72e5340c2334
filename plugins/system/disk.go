package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vigilmon/vigil/sdk"
)

// mount is one line of /proc/self/mounts.
type mount struct {
	device, path, fstype, mode string
}

// parseMounts parses /proc/self/mounts (the fstab(5) format). Later
// mounts on the same path hide earlier ones, so only the last is kept, at
// the position of the first. Malformed lines are skipped.
func parseMounts(data []byte) []mount {
	var out []mount
	at := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 {
			continue
		}
		m := mount{device: unescapeMount(f[0]), path: unescapeMount(f[1]), fstype: f[2], mode: "rw"}
		if slices.Contains(strings.Split(f[3], ","), "ro") {
			m.mode = "ro"
		}
		if i, ok := at[m.path]; ok {
			out[i] = m
			continue
		}
		at[m.path] = len(out)
		out = append(out, m)
	}
	return out
}

// unescapeMount undoes the kernel's octal escapes (\040 for a space,
// \011, \012, \134) in a mounts field.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// fsUsage is what statfs(2) tells about a mounted file system; block
// counts are in units of BlockSize.
type fsUsage struct {
	BlockSize, Blocks, Bfree, Bavail, Files, Ffree uint64
}

// diskCollector reports the usage of mounted file systems (measurement
// disk). statfs is a field so tests can replace the system call.
type diskCollector struct {
	root        string
	fsTypes     []string
	mountPoints []string
	statfs      func(path string) (fsUsage, error)
}

var _ sdk.Gatherer = (*diskCollector)(nil)

func newDisk(cfg sdk.Config) (sdk.Gatherer, error) {
	root, err := procRoot(cfg)
	if err != nil {
		return nil, err
	}
	return &diskCollector{
		root:        root,
		fsTypes:     cfg.Strings("disk_fs_types"),
		mountPoints: cfg.Strings("disk_mount_points"),
		statfs:      statfs,
	}, nil
}

// readMounts reads <root>/self/mounts, falling back to <root>/mounts.
func readMounts(root string) ([]mount, error) {
	data, err := os.ReadFile(filepath.Join(root, "self", "mounts"))
	if errors.Is(err, fs.ErrNotExist) {
		data, err = os.ReadFile(filepath.Join(root, "mounts"))
	}
	if err != nil {
		return nil, fmt.Errorf("reading mounts: %w", err)
	}
	return parseMounts(data), nil
}

func (c *diskCollector) selected(m mount) bool {
	if len(c.fsTypes) > 0 && !slices.Contains(c.fsTypes, m.fstype) {
		return false
	}
	return len(c.mountPoints) == 0 || slices.Contains(c.mountPoints, m.path)
}

// diskFields computes the fields of disk as df(1) does: free is what an
// unprivileged user may still write, used excludes the reserved blocks,
// and used_percent is used over used + free.
func diskFields(u fsUsage) map[string]any {
	total := u.Blocks * u.BlockSize
	free := u.Bavail * u.BlockSize
	used := sat(u.Blocks, u.Bfree) * u.BlockSize
	return map[string]any{
		"total":        int64(total),
		"free":         int64(free),
		"used":         int64(used),
		"used_percent": percent(used, used+free),
		"inodes_total": int64(u.Files),
		"inodes_free":  int64(u.Ffree),
		"inodes_used":  int64(sat(u.Files, u.Ffree)),
	}
}

func (c *diskCollector) Gather(ctx context.Context, acc *sdk.Accumulator) error {
	if err := ctx.Err(); err != nil {
		return interrupted("disk", err)
	}
	mounts, err := readMounts(c.root)
	if err != nil {
		return err
	}
	for _, m := range mounts {
		if !c.selected(m) {
			continue
		}
		u, err := c.statfsCtx(ctx, m.path)
		if ctx.Err() != nil {
			return interrupted("disk", ctx.Err())
		}
		switch {
		case errors.Is(err, fs.ErrPermission) || errors.Is(err, fs.ErrNotExist):
			continue // a mount this process may not see, e.g. another user's FUSE mount
		case err != nil:
			acc.AddError(fmt.Errorf("reading usage of %s: %w", m.path, err))
			continue
		}
		tags := map[string]string{
			"path":   m.path,
			"device": strings.TrimPrefix(m.device, "/dev/"),
			"fstype": m.fstype,
			"mode":   m.mode,
		}
		acc.AddFields("disk", tags, diskFields(u), acc.Time())
	}
	return nil
}

// statfsCtx calls statfs in its own goroutine so that a hung network file
// system cannot wedge the gather past its deadline. The goroutine of a
// hung call is left behind; it ends when the kernel gives up.
func (c *diskCollector) statfsCtx(ctx context.Context, path string) (fsUsage, error) {
	type answer struct {
		u   fsUsage
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		u, err := c.statfs(path)
		ch <- answer{u, err}
	}()
	select {
	case a := <-ch:
		return a.u, a.err
	case <-ctx.Done():
		return fsUsage{}, ctx.Err()
	}
}
