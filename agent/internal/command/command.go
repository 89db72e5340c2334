// Package command is the `vigil` command line: one small type per
// subcommand, all registered in the table of Commands, each parsing its
// arguments with pflag into a typed struct and writing through a view
// (human text or JSON) to the streams in Meta. main only builds Meta and
// calls Main.
package command

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/pflag"
	"github.com/vigilmon/vigil/internal/cli"
)

// Exit codes, the same for every command (see internal/cli).
const (
	ExitOK      = cli.ExitOK
	ExitFailure = cli.ExitFailure
	ExitUsage   = cli.ExitUsage
)

// Meta is what every command gets from main.
type Meta struct {
	Version string
	Stdout  io.Writer
	Stderr  io.Writer
	// Signals delivers SIGINT, SIGTERM and SIGHUP to the daemon.
	Signals <-chan os.Signal
}

// Command is one subcommand.
type Command = cli.Command

// Commands is the command table, the one place subcommands are registered.
func Commands(m Meta) map[string]Command {
	return map[string]Command{
		"agent":           &AgentCommand{Meta: m},
		"config validate": &ConfigValidateCommand{Meta: m},
		"config get":      &ConfigGetCommand{Meta: m},
		"config set":      &ConfigSetCommand{Meta: m},
		"config unset":    &ConfigUnsetCommand{Meta: m},
		"plugins":         &PluginsCommand{Meta: m},
		"plugin keygen":   &PluginKeygenCommand{Meta: m},
		"plugin package":  &PluginPackageCommand{Meta: m},
		"plugin new":      &PluginNewCommand{Meta: m},
		"plugin register": &PluginRegisterCommand{Meta: m},
		"plugin key":      &PluginKeyCommand{Meta: m},
		"plugin publish":  &PluginPublishCommand{Meta: m},
		"install":         &InstallCommand{Meta: m},
		"uninstall":       &UninstallCommand{Meta: m},
		"upgrade":         &UpgradeCommand{Meta: m},
		"search":          &SearchCommand{Meta: m},
		"version":         &VersionCommand{Meta: m},
	}
}

// Main dispatches args (without the program name) to a command.
func Main(ctx context.Context, m Meta, args []string) int {
	return cli.Dispatch(ctx, "vigil", Commands(m), m.Stdout, m.Stderr, args)
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name string, stderr io.Writer) *pflag.FlagSet { return cli.NewFlags(name, stderr) }

// format is the --format flag shared by commands with a JSON view.
type format = cli.Format

// newLogger builds the process logger from --log-level and --log-format.
func newLogger(w io.Writer, level, fmtName string) (hclog.Logger, error) {
	lv := hclog.LevelFromString(level)
	if lv == hclog.NoLevel {
		return nil, fmt.Errorf("--log-level must be trace, debug, info, warn or error, not %q", level)
	}
	if fmtName != "text" && fmtName != "json" {
		return nil, fmt.Errorf("--log-format must be text or json, not %q", fmtName)
	}
	return hclog.New(&hclog.LoggerOptions{Name: "vigil", Level: lv, Output: w, JSONFormat: fmtName == "json"}), nil
}
