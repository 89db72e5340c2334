package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vigilmon/vigil/sdk"
)

// Linux utmp(5) records (glibc, every 64-bit and 32-bit ABI alike): 384
// bytes, ut_type an int16 at offset 0, ut_user 32 bytes at offset 44.
const (
	utmpRecordSize  = 384
	utmpUserOffset  = 44
	utmpUserSize    = 32
	utmpUserProcess = 7 // USER_PROCESS: a logged-in user
)

// countUtmpUsers counts the USER_PROCESS records with a user name. A
// trailing partial record is ignored. Records are in host byte order.
func countUtmpUsers(data []byte) int {
	n := 0
	for off := 0; off+utmpRecordSize <= len(data); off += utmpRecordSize {
		rec := data[off : off+utmpRecordSize]
		if int16(binary.NativeEndian.Uint16(rec)) != utmpUserProcess {
			continue
		}
		if rec[utmpUserOffset] == 0 {
			continue
		}
		n++
	}
	return n
}

// parseUptime returns the whole seconds of /proc/uptime's first number.
func parseUptime(data []byte) (int64, error) {
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return 0, errors.New("empty file")
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("parsing uptime %q: not a number of seconds", f[0])
	}
	return int64(v), nil
}

// systemCollector reports uptime, boot time and users (measurement
// system, shared with the load collector).
type systemCollector struct {
	root string
	utmp string
}

var _ sdk.Gatherer = (*systemCollector)(nil)

func newSystem(cfg sdk.Config) (sdk.Gatherer, error) {
	root, err := procRoot(cfg)
	if err != nil {
		return nil, err
	}
	return &systemCollector{root: root, utmp: cfg.String("utmp_path")}, nil
}

func (c *systemCollector) Gather(ctx context.Context, acc *sdk.Accumulator) error {
	if err := ctx.Err(); err != nil {
		return interrupted("system", err)
	}
	p := filepath.Join(c.root, "uptime")
	data, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("reading uptime: %w", err)
	}
	up, err := parseUptime(data)
	if err != nil {
		return fmt.Errorf("parsing %s: %w", p, err)
	}
	fields := map[string]any{"uptime": up}
	if st, err := readStat(c.root); err != nil {
		acc.AddError(err)
	} else if st.bootTime > 0 {
		fields["boot_time"] = st.bootTime
	}
	if n, err := c.users(); err != nil {
		acc.AddError(err)
	} else {
		fields["n_users"] = int64(n)
	}
	acc.AddFields("system", nil, fields, acc.Time())
	return nil
}

// users counts the logged-in users; no utmp file (containers, minimal
// systems) means nobody is logged in.
func (c *systemCollector) users() (int, error) {
	if c.utmp == "" {
		return 0, nil
	}
	data, err := os.ReadFile(c.utmp)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("counting users: %w", err)
	}
	return countUtmpUsers(data), nil
}
