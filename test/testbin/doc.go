// Package testbin builds the binaries a test package runs (the agent, real
// and test plugins) once per test binary, with a single `go build` so the
// packages share compilation, into a temporary directory that TestMain
// removes; it is not a way to build release binaries (see the Makefile).
package testbin
