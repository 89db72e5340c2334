package main

import (
	"bytes"
	"path/filepath"
)

// pluginName names a plugin process by its executable's path, which the
// agent lays out as <plugin_dir>/<name>/<version>/<file>; cmdline is the
// NUL-separated content of /proc/<pid>/cmdline.
func pluginName(cmdline []byte) string {
	argv0, _, _ := bytes.Cut(cmdline, []byte{0})
	if len(argv0) == 0 {
		return ""
	}
	return filepath.Base(filepath.Dir(filepath.Dir(string(argv0))))
}
