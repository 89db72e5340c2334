package sdk

import (
	"context"
	"fmt"
	"regexp"
)

// ProtocolVersion is the newest protocol version this SDK speaks.
const ProtocolVersion = 1

// Version is the version of this SDK, reported in the manifest.
const Version = "0.1.0"

// Manifest declares a plugin: who it is and what it can do.
type Manifest struct {
	Name        string // [a-z][a-z0-9_-]*
	Version     string // semver, e.g. "1.2.0"
	Description string
	Collectors  []Collector
	Promises    []Promise
}

// Collector is a method that produces metrics, e.g. "cpu".
type Collector struct {
	Name        string
	Description string
	Schema      Schema
	// New builds a configured instance from cfg, which has the schema's
	// defaults applied. It returns Diagnostics for configuration problems.
	New func(cfg Config) (Gatherer, error)
}

// Promise is a method that checks something and reports a status, e.g. "http".
type Promise struct {
	Name        string
	Description string
	Schema      Schema
	// New builds a configured instance from cfg (defaults applied).
	New func(cfg Config) (Checker, error)
}

// Gatherer is a configured collector instance. Gather is called once per
// collection interval; it adds points to acc. An instance is never called
// concurrently with itself.
type Gatherer interface {
	Gather(ctx context.Context, acc *Accumulator) error
}

// Checker is a configured promise instance.
type Checker interface {
	Check(ctx context.Context) (Result, error)
}

// GathererFunc adapts a function to a Gatherer.
type GathererFunc func(ctx context.Context, acc *Accumulator) error

// Gather calls f.
func (f GathererFunc) Gather(ctx context.Context, acc *Accumulator) error { return f(ctx, acc) }

// CheckerFunc adapts a function to a Checker.
type CheckerFunc func(ctx context.Context) (Result, error)

// Check calls f.
func (f CheckerFunc) Check(ctx context.Context) (Result, error) { return f(ctx) }

var (
	nameRe   = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)
	semverRe = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
)

// Validate reports what is wrong with the manifest, so a plugin with a bad
// manifest fails at start rather than at its first call.
func (m Manifest) Validate() error {
	var diags Diagnostics
	if !nameRe.MatchString(m.Name) {
		diags = append(diags, Errorf(nil, "Invalid plugin name", "plugin name %q must match %s", m.Name, nameRe))
	}
	if !semverRe.MatchString(m.Version) {
		diags = append(diags, Errorf(nil, "Invalid plugin version", "version %q is not a semantic version such as 1.2.0", m.Version))
	}
	seen := map[string]string{}
	check := func(kind, name string, newNil bool, schema Schema) {
		if !nameRe.MatchString(name) {
			diags = append(diags, Errorf(nil, "Invalid method name", "%s name %q must match %s", kind, name, nameRe))
		}
		if prev, ok := seen[kind+name]; ok {
			diags = append(diags, Errorf(nil, "Duplicate method", "%s %q is declared twice (%s)", kind, name, prev))
		}
		seen[kind+name] = kind
		if newNil {
			diags = append(diags, Errorf(nil, "Method without constructor", "%s %q has no New function", kind, name))
		}
		if err := schema.Validate(); err != nil {
			diags = append(diags, Errorf(nil, "Invalid schema", "%s %q: %v", kind, name, err))
		}
	}
	for _, c := range m.Collectors {
		check("collector", c.Name, c.New == nil, c.Schema)
	}
	for _, p := range m.Promises {
		check("promise", p.Name, p.New == nil, p.Schema)
	}
	if len(m.Collectors)+len(m.Promises) == 0 {
		diags = append(diags, Errorf(nil, "Plugin without methods", "plugin %q declares no collector and no promise", m.Name))
	}
	if diags.HasErrors() {
		return fmt.Errorf("invalid manifest: %w", diags)
	}
	return nil
}
