package main

import "github.com/vigilmon/vigil/sdk"

const (
	pluginName    = "hello"
	pluginVersion = "0.1.0" // keep equal to the version you package and publish
)

// newManifest declares the plugin and its methods. The schemas are data:
// the agent checks a user's agent.hcl against them before it configures
// the plugin, and applies the defaults.
func newManifest() sdk.Manifest {
	return sdk.Manifest{
		Name:        pluginName,
		Version:     pluginVersion,
		Description: "Size and age of files matching glob patterns, and a promise that they are fresh.",
		Collectors: []sdk.Collector{{
			Name:        "files",
			Description: "Size and age of each file matching the patterns (measurement hello_file) and the number of matches per pattern (hello_glob).",
			Schema: sdk.Schema{
				{Name: "paths", Type: sdk.TypeStringList, Required: true,
					Description: `Glob patterns (Go path/filepath syntax: *, ?, [a-z]), such as "/var/backups/*.tar.gz".`},
				{Name: "max_files", Type: sdk.TypeNumber, Default: 1000,
					Description: "Most files reported per pattern; more is an error, so a too-wide pattern cannot flood the pipeline."},
			},
			New: newFiles,
		}},
		Promises: []sdk.Promise{{
			Name:        "fresh",
			Description: "CRITICAL when a file matching path is older than max_age or none matches, WARNING when one is older than warn_age, OK otherwise.",
			Schema: sdk.Schema{
				{Name: "path", Type: sdk.TypeString, Required: true,
					Description: "Glob pattern of the files that must be fresh."},
				{Name: "max_age", Type: sdk.TypeDuration, Default: "24h",
					Description: "CRITICAL when a matching file was last modified longer ago than this."},
				{Name: "warn_age", Type: sdk.TypeDuration, Default: "0s",
					Description: "WARNING when a matching file was last modified longer ago than this; 0s for no warning."},
			},
			New: newFresh,
		}},
	}
}
