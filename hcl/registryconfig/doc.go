// Package registryconfig is the schema of registry.hcl, the configuration
// of `vigil-registry serve`: the listen address, the data and artifact
// directories, the catalog storage (embedded SQLite or PostgreSQL) and the
// evaluation limits. It decodes the file into a Config with hcl
// diagnostics that name file, line and column and suggest the closest
// known name; Defaults and WithDefaults give the values used when the file
// or an attribute is absent.
//
// It is not the registry (it opens nothing) and not the agent's config
// (hcl/agentconfig, whose DidYouMean it borrows).
package registryconfig
