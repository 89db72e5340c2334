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
	"sort"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/pflag"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1 // the command ran and something failed
	ExitUsage   = 2 // bad arguments or configuration
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
type Command interface {
	Synopsis() string
	Help() string // starts with "Usage:"
	Run(ctx context.Context, args []string) int
}

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
	cmds := Commands(m)
	// The longest command name that prefixes args wins: "config validate".
	for n := min(len(args), 2); n > 0; n-- {
		name := strings.Join(args[:n], " ")
		if c, ok := cmds[name]; ok {
			rest := args[n:]
			if len(rest) > 0 && (rest[0] == "-h" || rest[0] == "--help" || rest[0] == "help") {
				fmt.Fprintln(m.Stdout, c.Help())
				return ExitOK
			}
			return c.Run(ctx, rest)
		}
	}
	if len(args) > 1 && args[0] == "help" { // help <command>
		if c, ok := cmds[strings.Join(args[1:], " ")]; ok {
			fmt.Fprintln(m.Stdout, c.Help())
			return ExitOK
		}
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(m.Stdout, usage(cmds))
		return ExitOK
	}
	fmt.Fprintf(m.Stderr, "vigil: unknown command %q\n\n%s", strings.Join(args, " "), usage(cmds))
	return ExitUsage
}

func usage(cmds map[string]Command) string {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("Usage: vigil <command> [arguments]\n\nCommands:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %-17s %s\n", n, cmds[n].Synopsis())
	}
	b.WriteString("\nRun `vigil <command> --help` for a command's arguments.\n")
	return b.String()
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name string, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	return fs
}

// format is the --format flag shared by commands with a JSON view.
type format string

func (f format) valid() error {
	if f != "human" && f != "json" {
		return fmt.Errorf("--format must be human or json, not %q", string(f))
	}
	return nil
}

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
