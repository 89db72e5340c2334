package host

import (
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/vigilmon/vigil/sdk/proto/vigilv1"
)

// FuzzManifestDecoding feeds arbitrary bytes to the path a manifest takes
// from a plugin (untrusted: any binary can answer GetManifest): protobuf
// decoding, then infoFromProto with its JSON defaults, then the schema
// checks a host runs. None of it may panic, and a decoded manifest keeps
// its methods.
func FuzzManifestDecoding(f *testing.F) {
	seed, _ := proto.Marshal(&pb.Manifest{
		Name: "demo", Version: "1.2.3", ProtocolVersion: 1,
		Collectors: []*pb.Method{{Name: "gen", Schema: []*pb.Attribute{
			{Name: "points", Type: "number", DefaultJson: []byte("10")},
			{Name: "paths", Type: "list(string)", DefaultJson: []byte(`["/a","/b"]`)},
		}}},
		Promises: []*pb.Method{{Name: "status", Schema: []*pb.Attribute{{Name: "status", Type: "number", Required: true}}}},
	})
	f.Add(seed)
	f.Add([]byte{})
	f.Add([]byte("\x0a\x04demo\x12\x05x.y.z"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m pb.Manifest
		if err := proto.Unmarshal(b, &m); err != nil {
			return
		}
		info := infoFromProto(&m)
		if len(info.Collectors) != len(m.Collectors) || len(info.Promises) != len(m.Promises) {
			t.Fatalf("methods lost: %d/%d collectors, %d/%d promises", len(info.Collectors), len(m.Collectors), len(info.Promises), len(m.Promises))
		}
		for _, c := range info.Collectors {
			_ = c.Schema.Validate() // must not panic on any schema
		}
		for _, p := range info.Promises {
			_ = p.Schema.Validate()
		}
	})
}
