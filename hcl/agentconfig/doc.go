// Package agentconfig decodes the agent's configuration file, agent.hcl, into
// a Config and reports every problem as an hcl.Diagnostic that names the file,
// line and column and says how to fix it.
//
// It also validates a plugin's or promise's `config = { ... }` object against
// the schema the plugin declares (MethodConfig, PluginConfig), and maps the
// configuration diagnostics a plugin sends back (sdk.Diagnostics) onto the
// user's file (FromPluginDiagnostics).
//
// It is not the agent: it starts nothing, reads no plugin and touches no
// state; defaults that depend on the machine are limited to the hostname.
// It does not edit agent.hcl either (comment-preserving edits belong to the
// packages that use hclwrite). It builds on github.com/hashicorp/hcl/v2
// (hclsyntax schemas, so unknown arguments and blocks get "Did you mean"
// suggestions) and go-cty.
//
// The file is plain data: values are evaluated without variables or
// functions, and operators, conditionals and interpolation are refused
// before anything is evaluated.
package agentconfig
