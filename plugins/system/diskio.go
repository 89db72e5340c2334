package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vigilmon/vigil/sdk"
)

// diskStat is one line of /proc/diskstats: the counters after the device
// name, in file order (at least the 11 every kernel since 2.6 has).
type diskStat struct {
	name     string
	counters [11]uint64
}

// Columns of diskStat.counters.
const (
	dReads = iota
	dMergedReads
	dSectorsRead
	dReadTime
	dWrites
	dMergedWrites
	dSectorsWritten
	dWriteTime
	dInProgress
	dIOTime
	dWeightedIOTime
)

// sectorSize is the unit of the sector counters of /proc/diskstats,
// whatever the device's real sector size.
const sectorSize = 512

// parseDiskstats parses /proc/diskstats; malformed lines are skipped.
func parseDiskstats(data []byte) []diskStat {
	var out []diskStat
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 14 {
			continue
		}
		d := diskStat{name: f[2]}
		ok := true
		for i := range d.counters {
			v, err := strconv.ParseUint(f[i+3], 10, 64)
			if err != nil {
				ok = false
				break
			}
			d.counters[i] = v
		}
		if ok {
			out = append(out, d)
		}
	}
	return out
}

// diskioCollector reports block device counters (measurement diskio).
type diskioCollector struct {
	root    string
	devices nameFilter // diskio_devices; empty: all but ram* and loop*
}

var _ sdk.Gatherer = (*diskioCollector)(nil)

func newDiskIO(cfg sdk.Config) (sdk.Gatherer, error) {
	root, err := procRoot(cfg)
	if err != nil {
		return nil, err
	}
	devices, err := newNameFilter(cfg, "diskio_devices", func(name string) bool {
		return !strings.HasPrefix(name, "ram") && !strings.HasPrefix(name, "loop")
	})
	if err != nil {
		return nil, err
	}
	return &diskioCollector{root: root, devices: devices}, nil
}

// diskioFields: times are milliseconds, bytes are sectors times 512, all
// cumulative since boot except iops_in_progress.
func diskioFields(d diskStat) map[string]any {
	c := d.counters
	return map[string]any{
		"reads":            int64(c[dReads]),
		"writes":           int64(c[dWrites]),
		"read_bytes":       int64(c[dSectorsRead] * sectorSize),
		"write_bytes":      int64(c[dSectorsWritten] * sectorSize),
		"read_time":        int64(c[dReadTime]),
		"write_time":       int64(c[dWriteTime]),
		"io_time":          int64(c[dIOTime]),
		"weighted_io_time": int64(c[dWeightedIOTime]),
		"iops_in_progress": int64(c[dInProgress]),
		"merged_reads":     int64(c[dMergedReads]),
		"merged_writes":    int64(c[dMergedWrites]),
	}
}

func (c *diskioCollector) Gather(ctx context.Context, acc *sdk.Accumulator) error {
	if err := ctx.Err(); err != nil {
		return interrupted("diskio", err)
	}
	data, err := os.ReadFile(filepath.Join(c.root, "diskstats"))
	if err != nil {
		return fmt.Errorf("reading disk counters: %w", err)
	}
	for _, d := range parseDiskstats(data) {
		if c.devices.match(d.name) {
			acc.AddFields("diskio", map[string]string{"name": d.name}, diskioFields(d), acc.Time())
		}
	}
	return nil
}
