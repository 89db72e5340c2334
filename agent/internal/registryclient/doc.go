// Package registryclient is a typed client for the registry's HTTP API v1
// (docs/api.md): searching plugins, listing installable versions, fetching
// download descriptors and streaming artifacts for `vigil install`, and
// registering plugins, publishing releases and reading their status for
// `vigil plugin register|publish`.
//
// It is not an installer: it verifies nothing it downloads (package
// install does), and it holds no state beyond the base URL and token. It
// builds only on the standard library; the registry's code is never
// imported (the two share only the wire format).
package registryclient
