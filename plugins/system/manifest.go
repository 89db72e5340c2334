package main

import (
	"fmt"
	"path"
	"strconv"

	"github.com/vigilmon/vigil/sdk"
)

const (
	pluginName    = "system"
	pluginVersion = "0.1.0"
)

// newManifest declares the plugin and its collectors.
func newManifest() sdk.Manifest {
	return sdk.Manifest{
		Name:        pluginName,
		Version:     pluginVersion,
		Description: "Host metrics from /proc: cpu, memory, swap, disk, disk I/O, network, load and uptime.",
		Collectors: []sdk.Collector{
			{
				Name:        "cpu",
				Description: "CPU usage percentages per core and in total, from /proc/stat deltas.",
				Schema:      sdk.Schema{procRootAttr(), cpuPerCoreAttr(), cpuTotalAttr()},
				New:         newCPU,
			},
			{
				Name:        "memory",
				Description: "Memory usage from /proc/meminfo (measurement mem).",
				Schema:      sdk.Schema{procRootAttr()},
				New:         newMemory,
			},
			{
				Name:        "swap",
				Description: "Swap usage from /proc/meminfo and swap traffic from /proc/vmstat.",
				Schema:      sdk.Schema{procRootAttr()},
				New:         newSwap,
			},
			{
				Name:        "disk",
				Description: "File system usage (statfs) of the mounts in /proc/self/mounts.",
				Schema:      sdk.Schema{procRootAttr(), diskFSTypesAttr(), diskMountPointsAttr()},
				New:         newDisk,
			},
			{
				Name:        "diskio",
				Description: "Block device I/O counters from /proc/diskstats.",
				Schema:      sdk.Schema{procRootAttr(), diskioDevicesAttr()},
				New:         newDiskIO,
			},
			{
				Name:        "net",
				Description: "Network interface counters from /proc/net/dev.",
				Schema:      sdk.Schema{procRootAttr(), netInterfacesAttr()},
				New:         newNet,
			},
			{
				Name:        "load",
				Description: "Load averages and process counts from /proc/loadavg (measurement system).",
				Schema:      sdk.Schema{procRootAttr()},
				New:         newLoad,
			},
			{
				Name:        "system",
				Description: "Uptime, boot time and logged-in users (measurement system).",
				Schema:      sdk.Schema{procRootAttr(), utmpPathAttr()},
				New:         newSystem,
			},
		},
	}
}

// The attributes are functions so that every schema gets its own copy of
// list defaults.

func procRootAttr() sdk.Attribute {
	return sdk.Attribute{Name: "proc_root", Type: sdk.TypeString, Default: "/proc",
		Description: "Where procfs is mounted; set it to the host's /proc mounted into a container (e.g. /host/proc)."}
}

func cpuPerCoreAttr() sdk.Attribute {
	return sdk.Attribute{Name: "cpu_per_core", Type: sdk.TypeBool, Default: true,
		Description: "Report one point per core (tag cpu=cpu0, cpu1, ...)."}
}

func cpuTotalAttr() sdk.Attribute {
	return sdk.Attribute{Name: "cpu_total", Type: sdk.TypeBool, Default: true,
		Description: "Report the point of all cores together (tag cpu=cpu-total)."}
}

func diskFSTypesAttr() sdk.Attribute {
	return sdk.Attribute{Name: "disk_fs_types", Type: sdk.TypeStringList,
		Default:     []string{"ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "overlay", "tmpfs", "vfat"},
		Description: "File system types to report; an empty list reports every type."}
}

func diskMountPointsAttr() sdk.Attribute {
	return sdk.Attribute{Name: "disk_mount_points", Type: sdk.TypeStringList, Default: []string{},
		Description: "Mount points to report (exact paths); an empty list reports every mount of a selected type."}
}

func diskioDevicesAttr() sdk.Attribute {
	return sdk.Attribute{Name: "diskio_devices", Type: sdk.TypeStringList, Default: []string{},
		Description: "Device name patterns (shell globs, e.g. \"sd*\") to report; an empty list reports every device but ram* and loop*."}
}

func netInterfacesAttr() sdk.Attribute {
	return sdk.Attribute{Name: "net_interfaces", Type: sdk.TypeStringList, Default: []string{},
		Description: "Interface name patterns (shell globs, e.g. \"eth*\") to report; an empty list reports every interface but lo."}
}

func utmpPathAttr() sdk.Attribute {
	return sdk.Attribute{Name: "utmp_path", Type: sdk.TypeString, Default: "/var/run/utmp",
		Description: "The utmp file whose USER_PROCESS records are counted as n_users; a missing file counts 0."}
}

// procRoot returns the proc_root attribute, which must not be empty.
func procRoot(cfg sdk.Config) (string, error) {
	root := cfg.String("proc_root")
	if root == "" {
		return "", sdk.AttributeError("proc_root", "Empty path", "proc_root must name the directory where procfs is mounted, such as \"/proc\"")
	}
	return root, nil
}

// nameFilter selects names (devices, interfaces) by the shell patterns of
// a list attribute, or by a default rule when the list is empty.
type nameFilter struct {
	patterns  []string
	byDefault func(name string) bool
}

// newNameFilter reads attr's patterns, each checked.
func newNameFilter(cfg sdk.Config, attr string, byDefault func(string) bool) (nameFilter, error) {
	pats, err := globs(cfg, attr)
	if err != nil {
		return nameFilter{}, err
	}
	return nameFilter{patterns: pats, byDefault: byDefault}, nil
}

func (f nameFilter) match(name string) bool {
	if len(f.patterns) == 0 {
		return f.byDefault(name)
	}
	return matchAny(f.patterns, name)
}

// globs returns a list attribute of shell patterns, each checked.
func globs(cfg sdk.Config, attr string) ([]string, error) {
	pats := cfg.Strings(attr)
	var diags sdk.Diagnostics
	for i, p := range pats {
		if _, err := path.Match(p, ""); err != nil {
			diags = append(diags, sdk.Errorf([]string{attr, strconv.Itoa(i)}, "Invalid pattern",
				"%q is not a shell pattern such as \"eth*\": %v", p, err))
		}
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return pats, nil
}

// matchAny reports whether name matches one of the (already checked) patterns.
func matchAny(pats []string, name string) bool {
	for _, p := range pats {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// interrupted reports a cancelled gather in user terms.
func interrupted(what string, err error) error {
	return fmt.Errorf("%s gather interrupted: %w", what, err)
}
