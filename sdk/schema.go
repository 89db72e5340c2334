package sdk

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Type is the type of a configuration attribute.
type Type string

// Attribute types. Durations are Go duration strings ("10s", "1m30s").
const (
	TypeString     Type = "string"
	TypeNumber     Type = "number"
	TypeBool       Type = "bool"
	TypeDuration   Type = "duration"
	TypeStringList Type = "list(string)"
	TypeNumberList Type = "list(number)"
	TypeStringMap  Type = "map(string)"
)

// Schema is the configuration a method accepts, declared as data so the
// agent can validate a user's config file before the plugin is configured.
type Schema []Attribute

// Attribute is one configuration key.
type Attribute struct {
	Name        string
	Type        Type
	Description string
	Required    bool
	// Default is used when the user leaves the attribute out. It must be a
	// value of the attribute's type: string, float64 or int, bool, a
	// duration string, []string, []float64 or map[string]string.
	Default any
}

// Validate reports a schema that cannot be right: unknown types, duplicate
// names, defaults of the wrong type, required attributes with defaults.
func (s Schema) Validate() error {
	seen := map[string]bool{}
	for _, a := range s {
		if !nameRe.MatchString(a.Name) {
			return fmt.Errorf("attribute name %q must match %s", a.Name, nameRe)
		}
		if seen[a.Name] {
			return fmt.Errorf("attribute %q declared twice", a.Name)
		}
		seen[a.Name] = true
		if !a.Type.valid() {
			return fmt.Errorf("attribute %q has unknown type %q", a.Name, a.Type)
		}
		if a.Default != nil {
			if a.Required {
				return fmt.Errorf("attribute %q is required and has a default", a.Name)
			}
			if err := a.Type.Check(normalize(a.Default)); err != nil {
				return fmt.Errorf("default of attribute %q: %w", a.Name, err)
			}
		}
	}
	return nil
}

func (t Type) valid() bool {
	switch t {
	case TypeString, TypeNumber, TypeBool, TypeDuration, TypeStringList, TypeNumberList, TypeStringMap:
		return true
	}
	return false
}

// Check reports whether v, a JSON-decoded value, has type t.
func (t Type) Check(v any) error {
	switch t {
	case TypeString:
		if _, ok := v.(string); ok {
			return nil
		}
	case TypeNumber:
		if _, ok := v.(float64); ok {
			return nil
		}
	case TypeBool:
		if _, ok := v.(bool); ok {
			return nil
		}
	case TypeDuration:
		s, ok := v.(string)
		if ok {
			if _, err := time.ParseDuration(s); err != nil {
				return fmt.Errorf("%q is not a duration such as \"10s\" or \"1m30s\"", s)
			}
			return nil
		}
	case TypeStringList, TypeNumberList:
		l, ok := v.([]any)
		if ok {
			elem := TypeString
			if t == TypeNumberList {
				elem = TypeNumber
			}
			for i, e := range l {
				if err := elem.Check(e); err != nil {
					return fmt.Errorf("element %d: %w", i, err)
				}
			}
			return nil
		}
	case TypeStringMap:
		m, ok := v.(map[string]any)
		if ok {
			for k, e := range m {
				if _, ok := e.(string); !ok {
					return fmt.Errorf("key %q: want a string", k)
				}
			}
			return nil
		}
	}
	return fmt.Errorf("want a value of type %s", t)
}

// normalize turns a Go default into the shape encoding/json would decode.
func normalize(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return v
	}
	return out
}

// Config is a method instance's configuration, decoded from the wire with
// the schema's defaults applied. Getters return the zero value for absent
// keys; New should report bad values with AttributeError.
type Config struct {
	values map[string]any
	log    hclog.Logger
}

// Logger is the instance's logger. Its lines go to the plugin's stderr as
// JSON and the host logs them under the plugin's name, at their level.
// (After Serve starts, os.Stderr itself is captured by go-plugin: log
// through this, not fmt.Fprintln(os.Stderr).)
func (c Config) Logger() hclog.Logger {
	if c.log == nil {
		return hclog.NewNullLogger()
	}
	return c.log
}

// ConfigFromJSON decodes a JSON object into a Config.
func ConfigFromJSON(b []byte) (Config, error) {
	c := Config{values: map[string]any{}}
	if len(b) == 0 {
		return c, nil
	}
	if err := json.Unmarshal(b, &c.values); err != nil {
		return Config{}, fmt.Errorf("decoding configuration: %w", err)
	}
	if c.values == nil {
		c.values = map[string]any{}
	}
	return c, nil
}

// NewConfig builds a Config from Go values (as a test would).
func NewConfig(values map[string]any) Config {
	c := Config{values: map[string]any{}}
	for k, v := range values {
		c.values[k] = normalize(v)
	}
	return c
}

// WithDefaults returns a copy of c where every absent attribute of s that
// has a default takes it.
func (s Schema) WithDefaults(c Config) Config {
	out := Config{values: make(map[string]any, len(c.values)+len(s)), log: c.log}
	for k, v := range c.values {
		out.values[k] = v
	}
	for _, a := range s {
		if _, ok := out.values[a.Name]; !ok && a.Default != nil {
			out.values[a.Name] = normalize(a.Default)
		}
	}
	return out
}

// Has reports whether key is set.
func (c Config) Has(key string) bool { _, ok := c.values[key]; return ok }

// String returns a string attribute.
func (c Config) String(key string) string { s, _ := c.values[key].(string); return s }

// Float returns a number attribute.
func (c Config) Float(key string) float64 { f, _ := c.values[key].(float64); return f }

// Int returns a number attribute truncated to an int.
func (c Config) Int(key string) int { return int(c.Float(key)) }

// Bool returns a bool attribute.
func (c Config) Bool(key string) bool { b, _ := c.values[key].(bool); return b }

// Duration returns a duration attribute; a value that does not parse
// returns an AttributeError.
func (c Config) Duration(key string) (time.Duration, error) {
	s := c.String(key)
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, AttributeError(key, "Invalid duration", "%q is not a duration such as \"10s\" or \"1m30s\"", s)
	}
	return d, nil
}

// Strings returns a list(string) attribute.
func (c Config) Strings(key string) []string {
	l, _ := c.values[key].([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// Floats returns a list(number) attribute.
func (c Config) Floats(key string) []float64 {
	l, _ := c.values[key].([]any)
	out := make([]float64, 0, len(l))
	for _, e := range l {
		if f, ok := e.(float64); ok {
			out = append(out, f)
		}
	}
	return out
}

// StringMap returns a map(string) attribute.
func (c Config) StringMap(key string) map[string]string {
	m, _ := c.values[key].(map[string]any)
	out := make(map[string]string, len(m))
	for k, e := range m {
		if s, ok := e.(string); ok {
			out[k] = s
		}
	}
	return out
}

// Decode unmarshals the configuration into v through encoding/json, for
// authors who prefer a struct with `json` tags.
func (c Config) Decode(v any) error {
	b, err := json.Marshal(c.values)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// JSON returns the configuration as a JSON object.
func (c Config) JSON() ([]byte, error) { return json.Marshal(c.values) }
