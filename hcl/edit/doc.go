// Package edit changes agent.hcl in place, the way an operator would with a
// text editor: `vigil config set|unset` and `vigil install` go through it.
// Every edit touches only the bytes of the attribute, object key or block it
// names; every comment and the layout of the rest of the file stay
// byte-identical (proved by golden round-trip tests and FuzzEdit).
//
// A path names a spot in the file by block type, label, attribute and
// object key: "agent.interval", "agent.tags.site", "plugin.system.config.
// disk_fs_types", "plugin.process.promise.agent-running.config.min",
// "output.file.path". A label containing dots is quoted:
// `promise."db.main".timeout`. Values given as text are turned into the
// HCL type agent.hcl's schema expects for the attribute; keys inside a
// `config` object (whose schema belongs to the plugin) are inferred.
//
// EnsurePlugin writes a whole new plugin block for `vigil install`: its
// arguments, then nested promise blocks, each under its comment lines;
// a promise block that needs the operator's config is written commented
// out, so the file stays valid and shows what is available.
//
// It builds on hashicorp/hcl: hclsyntax locates what to change and
// hclwrite renders the new values and blocks. hclwrite's File.Bytes
// re-spaces the whole file, so new text is spliced into the original bytes
// rather than written back through an hclwrite.File. After every edit the
// result is decoded with agentconfig.Parse, and an edit whose result does
// not decode is refused with the diagnostics.
//
// It is not the decoder (agentconfig) and it does not validate plugin
// configuration against plugin schemas; it edits one file and knows
// nothing of the agent, installs or the lock file.
package edit
