package install

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/vigilmon/vigil/sdk"
	"github.com/vigilmon/vigil/sdk/host"
)

// Promise is a promise check an installed plugin declares, as install
// offers it in agent.hcl.
type Promise struct {
	Check       string         `json:"check"`
	Description string         `json:"description,omitempty"`
	Defaults    map[string]any `json:"defaults,omitempty"`
	// Needs is empty when the plugin accepted the check configured with
	// its defaults alone: install enables it. Otherwise it says what the
	// operator must set first.
	Needs []Need `json:"needs,omitempty"`
}

// Need is one thing to set before a promise check can run: a required
// config key, or what the plugin answered when configured with the
// defaults.
type Need struct {
	Key      string `json:"key,omitempty"` // the config key, when known
	Detail   string `json:"detail"`
	Required bool   `json:"required,omitempty"` // Key is required by the schema
}

// probeTimeout bounds the call that configures a plugin's promise checks
// with their defaults.
const probeTimeout = 10 * time.Second

// promiseOffers describes the promise checks of p, a plugin being
// installed. A check with required attributes (which never have defaults)
// needs them set; the others are configured in p, all in one call, with
// their defaults alone, and those the plugin refuses need what it said.
// Nothing else is run.
func promiseOffers(ctx context.Context, p *host.Plugin, checks []host.Method) []Promise {
	if len(checks) == 0 {
		return nil
	}
	out := make([]Promise, len(checks))
	var probe []host.Instance
	for i, m := range checks {
		pr := Promise{Check: m.Name, Description: m.Description, Defaults: schemaDefaults(m.Schema)}
		for _, a := range m.Schema {
			if a.Required {
				pr.Needs = append(pr.Needs, Need{Key: a.Name, Detail: describeAttr(a), Required: true})
			}
		}
		out[i] = pr
		if len(pr.Needs) > 0 {
			continue
		}
		cfg, err := json.Marshal(orEmpty(pr.Defaults))
		if err != nil {
			out[i].Needs = []Need{{Detail: fmt.Sprintf("its defaults cannot be encoded (%v); report this to the plugin's author", err)}}
			continue
		}
		probe = append(probe, host.Instance{ID: m.Name, Kind: host.Promise, Method: m.Name, Config: cfg})
	}
	if len(probe) == 0 {
		return out
	}
	cctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	diags, err := p.Configure(cctx, probe)
	for _, in := range probe {
		i := indexOf(out, in.ID)
		if err != nil {
			out[i].Needs = []Need{{Detail: fmt.Sprintf("the plugin did not answer when configured with the defaults: %v", err)}}
			continue
		}
		for _, d := range diags {
			if d.InstanceID == in.ID && d.Severity == sdk.SeverityError {
				detail := d.Summary
				if d.Detail != "" {
					detail += ": " + d.Detail
				}
				out[i].Needs = append(out[i].Needs, Need{Key: strings.Join(d.Path, "."), Detail: detail})
			}
		}
	}
	return out
}

func indexOf(ps []Promise, check string) int {
	for i, p := range ps {
		if p.Check == check {
			return i
		}
	}
	return -1
}

// schemaDefaults maps each attribute of s that has a default to it; nil
// when none has.
func schemaDefaults(s sdk.Schema) map[string]any {
	var out map[string]any
	for _, a := range s {
		if a.Default == nil {
			continue
		}
		if out == nil {
			out = map[string]any{}
		}
		out[a.Name] = a.Default
	}
	return out
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// describeAttr is an attribute's description and type, for an operator.
func describeAttr(a sdk.Attribute) string {
	if d := strings.TrimSuffix(strings.TrimSpace(a.Description), "."); d != "" {
		return fmt.Sprintf("%s (%s)", d, a.Type)
	}
	return string(a.Type)
}
