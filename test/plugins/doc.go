// Package plugins holds purpose-built plugins for the end-to-end and fault
// tests: each misbehaves in one precise way (or, for counter, behaves in a
// precisely countable way). They import only the SDK, like any plugin.
package plugins
