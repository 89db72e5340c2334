package sdk

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vigilmon/vigil/sdk/internal/wire"
	"github.com/vigilmon/vigil/sdk/metric"
	pb "github.com/vigilmon/vigil/sdk/proto/vigilv1"
)

// NewPluginServer returns the protocol server for m. Serve uses it; sdktest
// uses it to run a plugin in-process over real gRPC. Plugin authors do not
// need it.
func NewPluginServer(m Manifest, log hclog.Logger) (pb.PluginServer, error) {
	return newServer(m, log)
}

type server struct {
	pb.UnimplementedPluginServer
	m   Manifest
	log hclog.Logger

	mu        sync.Mutex
	instances map[string]*instance
}

type instance struct {
	mu     sync.Mutex // one call at a time per instance
	kind   pb.ConfigureRequest_Instance_Kind
	method string
	config []byte
	g      Gatherer
	c      Checker
}

func newServer(m Manifest, log hclog.Logger) (*server, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &server{m: m, log: log, instances: map[string]*instance{}}, nil
}

func (s *server) GetManifest(context.Context, *pb.GetManifestRequest) (*pb.Manifest, error) {
	out := &pb.Manifest{
		Name:            s.m.Name,
		Version:         s.m.Version,
		ProtocolVersion: ProtocolVersion,
		Description:     s.m.Description,
		SdkVersion:      Version,
	}
	for _, c := range s.m.Collectors {
		out.Collectors = append(out.Collectors, methodProto(c.Name, c.Description, c.Schema))
	}
	for _, p := range s.m.Promises {
		out.Promises = append(out.Promises, methodProto(p.Name, p.Description, p.Schema))
	}
	return out, nil
}

func methodProto(name, desc string, schema Schema) *pb.Method {
	m := &pb.Method{Name: name, Description: desc}
	for _, a := range schema {
		m.Schema = append(m.Schema, &pb.Attribute{
			Name: a.Name, Type: string(a.Type), Description: a.Description,
			Required: a.Required, DefaultJson: wire.DefaultJSON(a.Default),
		})
	}
	return m
}

func (s *server) collector(name string) (Collector, bool) {
	for _, c := range s.m.Collectors {
		if c.Name == name {
			return c, true
		}
	}
	return Collector{}, false
}

func (s *server) promise(name string) (Promise, bool) {
	for _, p := range s.m.Promises {
		if p.Name == name {
			return p, true
		}
	}
	return Promise{}, false
}

// Configure builds every requested instance, then swaps them in all at
// once. An instance whose method and configuration did not change is kept,
// so state such as a CPU collector's previous sample survives a reload.
func (s *server) Configure(ctx context.Context, req *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	next := make(map[string]*instance, len(req.Instances))
	var diags []*pb.Diagnostic
	for _, in := range req.Instances {
		if _, dup := next[in.Id]; dup {
			diags = append(diags, &pb.Diagnostic{Severity: pb.Diagnostic_ERROR, Summary: "Duplicate instance", Detail: fmt.Sprintf("instance id %q appears twice", in.Id), InstanceId: in.Id})
			continue
		}
		if old, ok := s.instances[in.Id]; ok && old.kind == in.Kind && old.method == in.Method && bytes.Equal(old.config, in.ConfigJson) {
			next[in.Id] = old
			continue
		}
		inst, d := s.build(in)
		for _, x := range d {
			diags = append(diags, diagProto(x, in.Id))
		}
		if inst != nil {
			next[in.Id] = inst
		}
	}
	if hasErrors(diags) {
		for id, inst := range next {
			if s.instances[id] != inst {
				closeInstance(inst)
			}
		}
		return &pb.ConfigureResponse{Diagnostics: diags}, nil
	}
	for id, old := range s.instances {
		if next[id] != old {
			old.mu.Lock()
			closeInstance(old)
			old.mu.Unlock()
		}
	}
	s.instances = next
	return &pb.ConfigureResponse{Diagnostics: diags}, nil
}

func (s *server) build(in *pb.ConfigureRequest_Instance) (*instance, Diagnostics) {
	inst := &instance{kind: in.Kind, method: in.Method, config: in.ConfigJson}
	var (
		schema Schema
		newFn  func(Config) (any, error)
		what   string
	)
	switch in.Kind {
	case pb.ConfigureRequest_Instance_COLLECTOR:
		c, ok := s.collector(in.Method)
		if !ok {
			return nil, Diagnostics{Errorf(nil, "Unknown collector", "plugin %s has no collector %q; it has: %s", s.m.Name, in.Method, s.methodNames(true))}
		}
		schema, what = c.Schema, "collector"
		newFn = func(cfg Config) (any, error) { return c.New(cfg) }
	case pb.ConfigureRequest_Instance_PROMISE:
		p, ok := s.promise(in.Method)
		if !ok {
			return nil, Diagnostics{Errorf(nil, "Unknown promise check", "plugin %s has no promise check %q; it has: %s", s.m.Name, in.Method, s.methodNames(false))}
		}
		schema, what = p.Schema, "promise"
		newFn = func(cfg Config) (any, error) { return p.New(cfg) }
	default:
		return nil, Diagnostics{Errorf(nil, "Unknown instance kind", "instance kind %v is neither collector nor promise", in.Kind)}
	}
	cfg, diags := decodeConfig(schema, in.ConfigJson)
	if diags.HasErrors() {
		return nil, diags
	}
	cfg.log = s.log.Named(in.Method).With(what, in.Id)
	v, err := newFn(cfg)
	if err != nil {
		// Warnings alone do not reject the instance.
		d := AsDiagnostics(err)
		diags = append(diags, d...)
		if d.HasErrors() {
			return nil, diags
		}
	}
	if in.Kind == pb.ConfigureRequest_Instance_COLLECTOR {
		inst.g, _ = v.(Gatherer)
	} else {
		inst.c, _ = v.(Checker)
	}
	if inst.g == nil && inst.c == nil {
		return nil, append(diags, Errorf(nil, "Method returned nothing", "%s %q: New returned neither an instance nor an error", what, in.Method))
	}
	return inst, diags
}

func (s *server) methodNames(collectors bool) string {
	var names []string
	if collectors {
		for _, c := range s.m.Collectors {
			names = append(names, c.Name)
		}
	} else {
		for _, p := range s.m.Promises {
			names = append(names, p.Name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	sort.Strings(names)
	return fmt.Sprint(names)
}

// decodeConfig checks a configuration against its schema: known keys only,
// types, required attributes; then applies defaults. The agent checks the
// same against the user's file first; this is the plugin's own guard.
func decodeConfig(schema Schema, raw []byte) (Config, Diagnostics) {
	cfg, err := ConfigFromJSON(raw)
	if err != nil {
		return Config{}, Diagnostics{Errorf(nil, "Invalid configuration", "%v", err)}
	}
	var diags Diagnostics
	known := make(map[string]Attribute, len(schema))
	for _, a := range schema {
		known[a.Name] = a
	}
	keys := make([]string, 0, len(cfg.values))
	for k := range cfg.values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		a, ok := known[k]
		if !ok {
			diags = append(diags, Errorf([]string{k}, "Unsupported argument", "an argument named %q is not expected here", k))
			continue
		}
		if err := a.Type.Check(cfg.values[k]); err != nil {
			diags = append(diags, Errorf([]string{k}, "Incorrect attribute value type", "%v", err))
		}
	}
	for _, a := range schema {
		if a.Required && !cfg.Has(a.Name) {
			diags = append(diags, Errorf([]string{a.Name}, "Missing required argument", "the argument %q is required", a.Name))
		}
	}
	return schema.WithDefaults(cfg), diags
}

func diagProto(d Diagnostic, id string) *pb.Diagnostic {
	sev := pb.Diagnostic_ERROR
	if d.Severity == SeverityWarning {
		sev = pb.Diagnostic_WARNING
	}
	return &pb.Diagnostic{Severity: sev, Summary: d.Summary, Detail: d.Detail, Path: d.Path, InstanceId: id}
}

func hasErrors(ds []*pb.Diagnostic) bool {
	for _, d := range ds {
		if d.Severity != pb.Diagnostic_WARNING {
			return true
		}
	}
	return false
}

// closeAll closes every instance, waiting for calls in progress.
func (s *server) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, inst := range s.instances {
		inst.mu.Lock()
		closeInstance(inst)
		inst.mu.Unlock()
		delete(s.instances, id)
	}
}

func closeInstance(inst *instance) {
	if c, ok := inst.g.(io.Closer); ok {
		_ = c.Close()
	}
	if c, ok := inst.c.(io.Closer); ok {
		_ = c.Close()
	}
}

func (s *server) lookup(id string, kind pb.ConfigureRequest_Instance_Kind) (*instance, error) {
	s.mu.Lock()
	inst, ok := s.instances[id]
	s.mu.Unlock()
	if !ok || inst.kind != kind {
		return nil, status.Errorf(codes.NotFound, "no configured instance %q", id)
	}
	return inst, nil
}

func (s *server) Collect(req *pb.CollectRequest, stream pb.Plugin_CollectServer) error {
	inst, err := s.lookup(req.InstanceId, pb.ConfigureRequest_Instance_COLLECTOR)
	if err != nil {
		return err
	}
	inst.mu.Lock()
	defer inst.mu.Unlock()
	ctx := stream.Context()
	msg := &pb.Batch{}
	acc := NewAccumulator(int(req.BatchSize), time.Now(), func(b *metric.Batch) error {
		wire.BatchToProto(b, msg)
		return stream.Send(msg)
	})
	gerr := inst.g.Gather(ctx, acc)
	ferr := acc.Flush()
	if gerr == nil {
		gerr = acc.Err()
	}
	if gerr == nil {
		gerr = ferr
	}
	if gerr != nil {
		if ctx.Err() != nil {
			return status.FromContextError(ctx.Err()).Err()
		}
		return status.Error(codes.Unknown, gerr.Error())
	}
	return nil
}

func (s *server) Check(ctx context.Context, req *pb.CheckRequest) (*pb.CheckResponse, error) {
	inst, err := s.lookup(req.InstanceId, pb.ConfigureRequest_Instance_PROMISE)
	if err != nil {
		return nil, err
	}
	inst.mu.Lock()
	defer inst.mu.Unlock()
	res, err := inst.c.Check(ctx)
	if err != nil {
		return &pb.CheckResponse{Status: pb.CheckResponse_UNKNOWN, Error: err.Error()}, nil
	}
	out := &pb.CheckResponse{Status: pb.CheckResponse_Status(res.Status), Message: res.Message, LongOutput: res.LongOutput}
	if res.Status < OK || res.Status > Unknown {
		out.Status = pb.CheckResponse_UNKNOWN
		out.Error = fmt.Sprintf("check returned invalid status %d", int(res.Status))
	}
	for _, p := range res.Perfdata {
		out.Perfdata = append(out.Perfdata, &pb.Perfdata{
			Label: p.Label, Value: p.Value, Unknown: p.Unknown, Unit: p.Unit,
			Warn: p.Warn, Crit: p.Crit, Min: p.Min, Max: p.Max,
		})
	}
	return out, nil
}
