// Package wire holds what both ends of the Vigil plugin protocol must agree
// on: the go-plugin handshake, the plugin-set names per protocol version,
// and the conversions between the protobuf messages and the SDK's types.
// It is internal to the sdk module: plugin authors use package sdk, hosts
// use sdk/host.
package wire

import (
	"context"
	"encoding/json"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/vigilmon/vigil/sdk/metric"
	pb "github.com/vigilmon/vigil/sdk/proto/vigilv1"
)

// Handshake is the go-plugin handshake. The cookie only keeps a plugin
// binary from being run by hand by mistake; it is not security (the host
// verifies the binary's sha256 before exec).
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "VIGIL_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "d1b6a3c4e5f60718293a4b5c6d7e8f90vigil",
}

// PluginName is the name of the one plugin every Vigil binary serves.
const PluginName = "vigil"

// GRPCPlugin adapts the protocol-v1 service to go-plugin. On the plugin
// side Impl is set; on the host side GRPCClient returns a client.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl pb.PluginServer
}

// GRPCServer registers the service.
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterPluginServer(s, p.Impl)
	return nil
}

// GRPCClient returns the protocol-v1 client.
func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return pb.NewPluginClient(c), nil
}

// BatchToProto fills dst from b without copying the value columns.
func BatchToProto(b *metric.Batch, dst *pb.Batch) {
	dst.Series = dst.Series[:0]
	for _, s := range b.Series {
		ps := &pb.Series{Measurement: s.Measurement}
		for _, t := range s.Tags {
			ps.Tags = append(ps.Tags, &pb.Tag{Key: t.Key, Value: t.Value})
		}
		for _, f := range s.Fields {
			ps.Fields = append(ps.Fields, &pb.Field{Key: f.Key, Type: pb.FieldType(f.Type)})
		}
		dst.Series = append(dst.Series, ps)
	}
	dst.PointSeries = b.PointSeries
	dst.TimeUnixNano = b.Times
	dst.Floats = b.Floats
	dst.Ints = b.Ints
	dst.Uints = b.Uints
	dst.Bools = b.Bools
	dst.Strings = b.Strings
}

// BatchFromProto converts a received batch; the columns are shared with
// the message. The caller validates the result.
func BatchFromProto(src *pb.Batch) *metric.Batch {
	b := &metric.Batch{
		Series:      make([]metric.Series, 0, len(src.Series)),
		PointSeries: src.PointSeries,
		Times:       src.TimeUnixNano,
		Floats:      src.Floats,
		Ints:        src.Ints,
		Uints:       src.Uints,
		Bools:       src.Bools,
		Strings:     src.Strings,
	}
	for _, ps := range src.Series {
		s := metric.Series{Measurement: ps.Measurement}
		if len(ps.Tags) > 0 {
			s.Tags = make([]metric.Tag, len(ps.Tags))
			for i, t := range ps.Tags {
				s.Tags[i] = metric.Tag{Key: t.Key, Value: t.Value}
			}
		}
		s.Fields = make([]metric.Field, len(ps.Fields))
		for i, f := range ps.Fields {
			s.Fields[i] = metric.Field{Key: f.Key, Type: metric.FieldType(f.Type)}
		}
		b.Series = append(b.Series, s)
	}
	return b
}

// DefaultJSON encodes an attribute default for the wire.
func DefaultJSON(v any) []byte {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}
