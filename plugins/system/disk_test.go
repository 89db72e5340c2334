package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vigilmon/vigil/sdk"
	"github.com/vigilmon/vigil/sdk/metric"
)

// fakeStatfs answers statfs from a table; paths not in it do not exist.
func fakeStatfs(table map[string]fsUsage, errs map[string]error) func(string) (fsUsage, error) {
	return func(path string) (fsUsage, error) {
		if err, ok := errs[path]; ok {
			return fsUsage{}, err
		}
		u, ok := table[path]
		if !ok {
			return fsUsage{}, fmt.Errorf("statfs %s: %w", path, fs.ErrNotExist)
		}
		return u, nil
	}
}

var diskTable = map[string]fsUsage{
	// 1000 blocks of 4096: 300 free, of which 250 available; 100 inodes, 40 free.
	"/":            {BlockSize: 4096, Blocks: 1000, Bfree: 300, Bavail: 250, Files: 100, Ffree: 40},
	"/run":         {BlockSize: 4096, Blocks: 400, Bfree: 400, Bavail: 400, Files: 10, Ffree: 10},
	"/mnt/my data": {BlockSize: 1024, Blocks: 10, Bfree: 5, Bavail: 5, Files: 0, Ffree: 0},
	"/home":        {BlockSize: 4096, Blocks: 2000, Bfree: 1000, Bavail: 1000, Files: 50, Ffree: 25},
	"/proc":        {BlockSize: 4096},
}

func diskPoint(path, device, fstype, mode string, total, free, used int64, pct float64, itotal, ifree, iused int64) metric.Point {
	return point("disk", map[string]string{"path": path, "device": device, "fstype": fstype, "mode": mode}, map[string]any{
		"total": total, "free": free, "used": used, "used_percent": pct,
		"inodes_total": itotal, "inodes_free": ifree, "inodes_used": iused,
	})
}

var (
	diskRoot = diskPoint("/", "sda1", "ext4", "rw", 4096000, 1024000, 2867200, 2867200.0/3891200*100, 100, 40, 60)
	diskRun  = diskPoint("/run", "tmpfs", "tmpfs", "rw", 1638400, 1638400, 0, 0, 10, 10, 0)
	diskData = diskPoint("/mnt/my data", "sdb1", "xfs", "ro", 10240, 5120, 5120, 50, 0, 0, 0)
	// The second mount on /home hides the first: device sda3.
	diskHome = diskPoint("/home", "sda3", "ext4", "rw", 8192000, 4096000, 4096000, 50, 50, 25, 25)
)

func TestDisk(t *testing.T) {
	tests := []struct {
		name   string
		values map[string]any
		want   []metric.Point
	}{
		{"defaults", nil, []metric.Point{diskRoot, diskHome, diskData, diskRun}},
		{"fs types", map[string]any{"disk_fs_types": []string{"xfs", "proc"}}, []metric.Point{diskData, {
			Measurement: "disk", Time: testTime,
			Tags:   map[string]string{"path": "/proc", "device": "proc", "fstype": "proc", "mode": "rw"},
			Fields: map[string]any{"total": int64(0), "free": int64(0), "used": int64(0), "used_percent": 0.0, "inodes_total": int64(0), "inodes_free": int64(0), "inodes_used": int64(0)},
		}}},
		{"mount points", map[string]any{"disk_mount_points": []string{"/", "/mnt/my data", "/nowhere"}}, []metric.Point{diskRoot, diskData}},
		{"every type", map[string]any{"disk_fs_types": []string{}, "disk_mount_points": []string{"/home"}}, []metric.Point{diskHome}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			values := map[string]any{"proc_root": "testdata/proc"}
			for k, v := range tt.values {
				values[k] = v
			}
			g := mustCollector(t, "disk", values)
			g.(*diskCollector).statfs = fakeStatfs(diskTable, nil)
			pts, err := gather(t, g)
			if err != nil {
				t.Fatal(err)
			}
			sortPoints(tt.want)
			diffPoints(t, tt.want, pts)
		})
	}
}

func TestDiskStatfsErrors(t *testing.T) {
	g := mustCollector(t, "disk", map[string]any{"proc_root": "testdata/proc"})
	broken := errors.New("input/output error")
	g.(*diskCollector).statfs = fakeStatfs(diskTable, map[string]error{
		"/home": broken,
		"/run":  fmt.Errorf("statfs: %w", fs.ErrPermission),
	})
	pts, err := gather(t, g)
	if !errors.Is(err, broken) {
		t.Errorf("accumulated error = %v, want one wrapping %v", err, broken)
	}
	diffPoints(t, []metric.Point{diskRoot, diskData}, pts)
}

func TestDiskCancelled(t *testing.T) {
	g := mustCollector(t, "disk", map[string]any{"proc_root": "testdata/proc"})
	block := make(chan struct{})
	defer close(block)
	g.(*diskCollector).statfs = func(string) (fsUsage, error) { <-block; return fsUsage{}, nil }
	ctx, cancel := context.WithCancel(context.Background())
	acc := sdk.NewAccumulator(0, testTime, func(*metric.Batch) error { return nil })
	done := make(chan error, 1)
	go func() { done <- g.Gather(ctx, acc) }()
	cancel() // a hung statfs must not hold the gather
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Gather = %v, want context.Canceled", err)
	}
}

func TestParseMounts(t *testing.T) {
	got := parseMounts([]byte("a /x ext4 rw 0 0\nb /y\\040z\\134 xfs ro,noatime 0 0\nc /x tmpfs rw 0 0\nbad\n"))
	want := []mount{
		{device: "c", path: "/x", fstype: "tmpfs", mode: "rw"},
		{device: "b", path: `/y z\`, fstype: "xfs", mode: "ro"},
	}
	if d := cmp.Diff(want, got, cmp.AllowUnexported(mount{})); d != "" {
		t.Errorf("parseMounts mismatch (-want +got):\n%s", d)
	}
}

func diskioPoint(name string, reads, writes, rbytes, wbytes, rtime, wtime, iotime, wiotime, inprog, mreads, mwrites int64) metric.Point {
	return point("diskio", map[string]string{"name": name}, map[string]any{
		"reads": reads, "writes": writes, "read_bytes": rbytes, "write_bytes": wbytes,
		"read_time": rtime, "write_time": wtime, "io_time": iotime, "weighted_io_time": wiotime,
		"iops_in_progress": inprog, "merged_reads": mreads, "merged_writes": mwrites,
	})
}

var (
	ioSDA   = diskioPoint("sda", 1000, 2000, 20000*512, 40000*512, 3000, 5000, 6000, 8000, 2, 50, 100)
	ioSDA1  = diskioPoint("sda1", 900, 1900, 18000*512, 38000*512, 2900, 4900, 5900, 7800, 0, 40, 90)
	ioNVMe  = diskioPoint("nvme0n1", 5, 7, 80*512, 96*512, 2, 9, 11, 12, 1, 1, 3)
	ioLoop0 = diskioPoint("loop0", 10, 0, 20*512, 0, 4, 0, 4, 4, 0, 0, 0)
)

func TestDiskIO(t *testing.T) {
	tests := []struct {
		name    string
		devices []string
		want    []metric.Point
	}{
		{"defaults skip ram and loop", nil, []metric.Point{ioNVMe, ioSDA, ioSDA1}},
		{"globs", []string{"sd?", "loop*"}, []metric.Point{ioLoop0, ioSDA}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			values := map[string]any{"proc_root": "testdata/proc"}
			if tt.devices != nil {
				values["diskio_devices"] = tt.devices
			}
			pts, err := gather(t, mustCollector(t, "diskio", values))
			if err != nil {
				t.Fatal(err)
			}
			diffPoints(t, tt.want, pts)
		})
	}
}

func TestDiskIOBadGlob(t *testing.T) {
	_, err := newCollector(t, "diskio", map[string]any{"diskio_devices": []string{"sd*", "[x"}})
	assertAttrError(t, err, "diskio_devices")
	if d := sdk.AsDiagnostics(err); len(d) != 1 || len(d[0].Path) != 2 || d[0].Path[1] != "1" {
		t.Errorf("diagnostics = %+v, want one at diskio_devices.1", d)
	}
}
