// Package lineproto turns the SDK's columnar metric.Batch into InfluxDB line
// protocol, adding the tags the agent owns: node and plugin on every point,
// and the agent's configured tags where a point does not set them.
//
// It encodes each series key (measurement and merged tags) and each field
// key once per batch with github.com/influxdata/line-protocol/v2's Encoder,
// so escaping and validation are that library's, then writes every point by
// copying those cached bytes and appending its values and timestamp. Output
// is what InfluxDB 1.x accepts: unsigned fields are written as integers
// (clamped to MaxInt64), timestamps in nanoseconds, tags sorted.
//
// It is not a decoder, does not batch, compress or send anything (see
// package pipeline), and does not validate plugin configuration.
package lineproto
