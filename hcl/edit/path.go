package edit

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/vigilmon/vigil/hcl/agentconfig"
)

// kind is the type agent.hcl's schema gives an attribute.
type kind int

const (
	kindString     kind = iota
	kindDuration        // a Go duration written as a string, "30s"
	kindNumber          // a number
	kindBool            // true or false
	kindStringList      // ["a", "b"]
	kindStringMap       // { key = "value" }: keys hold strings
	kindObject          // a plugin's config: keys and their types are the plugin's
	kindInferred        // a key inside a config object: type inferred from the text
)

func (k kind) String() string {
	return [...]string{"a string", "a duration", "a number", "true or false",
		"a list of strings", "a map of strings", "an object", "a value"}[k]
}

// blockSchema is what a body of agent.hcl may hold.
type blockSchema struct {
	attrs  map[string]kind
	blocks map[string]*blockDef
}

// blockDef is a nested block type; byLabel, when set, picks the body's
// schema by label (output kinds).
type blockDef struct {
	labeled bool
	body    *blockSchema
	byLabel map[string]*blockSchema
}

var anomalyBody = &blockSchema{attrs: map[string]kind{"result_count": kindNumber, "failure_amount": kindNumber}}

// schema mirrors hcl/agentconfig's body schemas and value readers.
var schema = &blockSchema{blocks: map[string]*blockDef{
	"agent": {body: &blockSchema{attrs: map[string]kind{
		"node": kindString, "tags": kindStringMap, "interval": kindDuration, "jitter": kindDuration,
		"plugin_dir": kindString, "data_dir": kindString, "flush_interval": kindDuration,
		"batch_size": kindNumber, "shutdown_timeout": kindDuration, "plugin_auto_mtls": kindBool,
	}}},
	"registry": {body: &blockSchema{attrs: map[string]kind{
		"url": kindString, "token": kindString, "signing_keys": kindStringList,
	}}},
	"plugin": {labeled: true, body: &blockSchema{
		attrs: map[string]kind{
			"version": kindString, "collect": kindStringList, "interval": kindDuration,
			"timeout": kindDuration, "config": kindObject,
		},
		blocks: map[string]*blockDef{
			"promise": {labeled: true, body: &blockSchema{
				attrs: map[string]kind{
					"check": kindString, "config": kindObject, "interval": kindDuration,
					"timeout": kindDuration, "bang": kindStringList,
				},
				blocks: map[string]*blockDef{"anomaly": {body: anomalyBody}},
			}},
			"collector": {labeled: true, body: &blockSchema{attrs: map[string]kind{
				"interval": kindDuration, "timeout": kindDuration,
			}}},
		},
	}},
	"promise": {labeled: true, body: &blockSchema{
		attrs: map[string]kind{
			"command": kindStringList, "interval": kindDuration, "timeout": kindDuration,
			"exit_codes": kindString, "env": kindStringList, "bang": kindStringList,
		},
		blocks: map[string]*blockDef{"anomaly": {body: anomalyBody}},
	}},
	"output": {labeled: true, byLabel: map[string]*blockSchema{
		"stdout": {},
		"file":   {attrs: map[string]kind{"path": kindString}},
		"influxdb": {attrs: map[string]kind{
			"url": kindString, "database": kindString, "username": kindString,
			"password": kindString, "gzip": kindBool, "timeout": kindDuration,
		}},
		"registry": {attrs: map[string]kind{"gzip": kindBool, "timeout": kindDuration}},
	}},
}}

// step is one block on a path: its type and, for labeled blocks, label.
type step struct {
	typ, label string
	labeled    bool
}

func (s step) String() string {
	if s.labeled {
		return fmt.Sprintf("%s %q", s.typ, s.label)
	}
	return s.typ
}

// target is a parsed path: the blocks to walk, then optionally an
// attribute and keys inside its object value.
type target struct {
	path   string
	blocks []step
	attr   string // "" when the path names a block
	kind   kind
	keys   []string
}

// leafKind is the kind of the value the target names.
func (t target) leafKind() kind {
	switch {
	case len(t.keys) == 0:
		return t.kind
	case t.kind == kindStringMap:
		return kindString
	}
	return kindInferred
}

// parsePath parses a dotted path against the schema of agent.hcl.
func parsePath(path string) (target, error) {
	t := target{path: path}
	segs, err := splitPath(path)
	if err != nil {
		return t, err
	}
	s := schema
	for i := 0; i < len(segs); i++ {
		seg := segs[i]
		if def, ok := s.blocks[seg]; ok {
			st := step{typ: seg, labeled: def.labeled}
			if def.labeled {
				if i+1 == len(segs) {
					return t, fmt.Errorf("path %q: a %s block needs a label: %s.<label>", path, seg, strings.Join(segs, "."))
				}
				i++
				st.label = segs[i]
			}
			t.blocks = append(t.blocks, st)
			s = def.body
			if def.byLabel != nil {
				if s = def.byLabel[st.label]; s == nil {
					return t, fmt.Errorf("path %q: there is no %s %q; the kinds are %s.%s",
						path, seg, st.label, strings.Join(sortedKeys(def.byLabel), ", "), agentconfig.DidYouMean(st.label, sortedKeys(def.byLabel)))
				}
			}
			continue
		}
		if k, ok := s.attrs[seg]; ok {
			t.attr, t.kind, t.keys = seg, k, segs[i+1:]
			switch {
			case len(t.keys) > 0 && k != kindStringMap && k != kindObject:
				return t, fmt.Errorf("path %q: %s is %s, it has no keys", path, seg, k)
			case len(t.keys) > 1 && k == kindStringMap:
				return t, fmt.Errorf("path %q: %s is a map of strings, its values have no keys", path, seg)
			}
			return t, nil
		}
		names := append(sortedKeys(s.attrs), sortedKeys(s.blocks)...)
		where := "the top level of agent.hcl"
		if len(t.blocks) > 0 {
			where = "a " + t.blocks[len(t.blocks)-1].typ + " block"
		}
		return t, fmt.Errorf("path %q: %s has no %q; it has %s.%s", path, where, seg,
			strings.Join(names, ", "), agentconfig.DidYouMean(seg, names))
	}
	if len(t.blocks) == 0 {
		return t, fmt.Errorf("path %q is empty", path)
	}
	return t, nil
}

// splitPath splits a path on dots; a segment may be quoted ("a.b") to
// hold dots.
func splitPath(path string) ([]string, error) {
	var segs []string
	rest := path
	for {
		var seg string
		if strings.HasPrefix(rest, `"`) {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				return nil, fmt.Errorf("path %q: unterminated quoted segment", path)
			}
			seg, _ = strconv.Unquote(q)
			rest = rest[len(q):]
			if rest != "" && rest[0] != '.' {
				return nil, fmt.Errorf("path %q: a quoted segment must be followed by a dot", path)
			}
		} else {
			i := strings.IndexByte(rest, '.')
			if i < 0 {
				i = len(rest)
			}
			seg, rest = rest[:i], rest[i:]
			if seg == "" {
				return nil, fmt.Errorf("path %q: empty segment; write it as block.label.attribute, such as agent.interval", path)
			}
		}
		segs = append(segs, seg)
		if rest == "" {
			return segs, nil
		}
		rest = rest[1:] // the dot
		if rest == "" {
			return nil, fmt.Errorf("path %q ends with a dot", path)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
