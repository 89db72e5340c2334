// Package sdk is the only package a Vigil plugin imports.
//
// A plugin author describes the plugin in a [Manifest] (name, version, and
// its methods: collectors that produce metrics and promises that produce a
// status, each with a configuration [Schema]) and hands it to [Serve] from
// main. Serve speaks the Vigil protocol over hashicorp/go-plugin gRPC; the
// author never sees go-plugin, gRPC or protobuf.
//
// The host side, which launches plugin binaries and calls them, lives in
// sdk/host; sdk/sdktest runs a plugin from a Go test. This package imports
// nothing else of the Vigil repository.
package sdk
