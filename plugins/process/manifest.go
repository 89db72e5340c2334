package main

import "github.com/vigilmon/vigil/sdk"

const (
	pluginName    = "process"
	pluginVersion = "0.1.0"
)

// newManifest declares the plugin, its collector and its promise.
func newManifest() sdk.Manifest {
	return sdk.Manifest{
		Name:        pluginName,
		Version:     pluginVersion,
		Description: "Per-process metrics and a running-processes check, selected by name, command line, pid file or user.",
		Collectors: []sdk.Collector{{
			Name:        "process",
			Description: "CPU, memory, threads, file descriptors and I/O of the selected processes (measurement process), and how many each matcher selects (procstat_lookup).",
			Schema: append(selectorSchema(), sdk.Attribute{Name: "pid_tag", Type: sdk.TypeBool, Default: false,
				Description: "Tag each point with the pid, so processes of the same name are distinct series (more series)."}),
			New: newProcessCollector,
		}},
		Promises: []sdk.Promise{{
			Name:        "running",
			Description: "OK while the number of selected processes is within [min, max], CRITICAL otherwise (like check_procs).",
			Schema: append(selectorSchema(),
				sdk.Attribute{Name: "min", Type: sdk.TypeNumber, Default: 1,
					Description: "Fewest processes that are OK."},
				sdk.Attribute{Name: "max", Type: sdk.TypeNumber, Default: -1,
					Description: "Most processes that are OK; -1 for no maximum."},
			),
			New: newRunning,
		}},
	}
}

// selectorSchema is the schema of the process selection, shared by the
// collector and the promise. It returns a fresh slice on every call.
func selectorSchema() sdk.Schema {
	return sdk.Schema{
		{Name: "names", Type: sdk.TypeStringList, Default: []string{},
			Description: "Exact command names (/proc/<pid>/comm, as ps -o comm shows them; names longer than 15 characters are compared on their first 15, as the kernel truncates them). With no names, cmdline, pidfile or user at all, the plugin watches the Vigil agent that runs it."},
		{Name: "cmdline", Type: sdk.TypeString,
			Description: "Go regular expression searched in the command line (arguments joined by spaces)."},
		{Name: "pidfile", Type: sdk.TypeString,
			Description: "Pid file naming the process; a missing file selects nothing."},
		{Name: "user", Type: sdk.TypeString,
			Description: "User name or numeric uid owning the processes (real uid). With other matchers it narrows them; alone it selects all the user's processes."},
		{Name: "proc_root", Type: sdk.TypeString, Default: "/proc",
			Description: "Where procfs is mounted (e.g. /host/proc in a container)."},
	}
}
