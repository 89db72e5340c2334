// Package scaffold writes a new third-party plugin module, the starting
// point "vigil plugin new" gives a plugin author: go.mod, a main calling
// sdk.Serve, a collector, a promise, tests through sdk/sdktest, a README
// and an example.hcl. The files are text/template templates embedded in
// the binary.
//
// It only writes files; it does not run the go command, fetch modules or
// touch an existing non-empty directory. It builds on sdk/release for the
// rules of plugin names.
package scaffold
