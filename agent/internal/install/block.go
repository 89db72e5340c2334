package install

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vigilmon/vigil/hcl/edit"
)

// PromiseID is the id install gives the promise block of check in plugin's
// block.
func PromiseID(plugin, check string) string { return plugin + "-" + check }

// Block is the plugin block install writes into agent.hcl for in, a plugin
// the file has no block for: its version, its collectors, their defaults
// and the keys they require written null (for the operator to fill in;
// the agent names each one left null), and one promise block per promise
// check, with the check's description as comment. A check the plugin
// accepted with its defaults is enabled with them; one that needs
// configuration is written commented out, its required keys null, under
// lines saying what to set, so the file stays valid and the operator sees
// what is available. used are the promise ids the file already declares
// (edit.Document.PromiseIDs): a check whose id is taken is written
// commented out too.
func Block(in Installed, used []string) edit.Plugin {
	b := edit.Plugin{Name: in.Name, Version: in.Version, Collect: in.Collectors, Config: in.Defaults}
	if len(in.Needs) > 0 {
		b.Config = needConfig(Promise{Defaults: in.Defaults, Needs: in.Needs})
	}
	for _, p := range in.Promises {
		id := PromiseID(in.Name, p.Check)
		pr := edit.Promise{ID: id, Check: p.Check, Config: p.Defaults}
		if p.Description != "" {
			pr.Comment = wrap(p.Check+": "+p.Description, commentWidth)
		}
		switch {
		case slices.Contains(used, id):
			pr.Disabled = true
			pr.Comment = append(pr.Comment, wrap(fmt.Sprintf("Not enabled: this file already declares a promise %q; give this one another id, then uncomment the block.", id), commentWidth)...)
		case len(p.Needs) > 0:
			pr.Disabled = true
			pr.Config = needConfig(p)
			if requiredOnly(p) {
				pr.Comment = append(pr.Comment, "Not enabled: set in config, then uncomment the block:")
			} else {
				pr.Comment = append(pr.Comment, wrap("Not enabled: with only its defaults, the plugin refuses it; set what it asks for in config, then uncomment the block:", commentWidth)...)
			}
			for _, n := range p.Needs {
				pr.Comment = append(pr.Comment, "  "+needText(n))
			}
		}
		b.Promises = append(b.Promises, pr)
	}
	return b
}

// commentWidth is how wide install wraps comment text (the block's
// indentation and "# " come on top).
const commentWidth = 74

// needConfig is p's defaults with each key it needs that has none as nil,
// which edit writes null: the spot to fill in.
func needConfig(p Promise) map[string]any {
	out := map[string]any{}
	for k, v := range p.Defaults {
		out[k] = v
	}
	for _, n := range p.Needs {
		if _, set := out[n.Key]; !set && n.Key != "" && !strings.Contains(n.Key, ".") {
			out[n.Key] = nil
		}
	}
	return out
}

// requiredOnly reports whether every need of p is a required key (rather
// than the plugin's refusal of the defaults).
func requiredOnly(p Promise) bool {
	for _, n := range p.Needs {
		if !n.Required {
			return false
		}
	}
	return true
}

func needText(n Need) string {
	if n.Key == "" {
		return n.Detail
	}
	return n.Key + ": " + n.Detail
}

// wrap breaks s into lines of at most width bytes at spaces; a longer word
// gets a line of its own.
func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
