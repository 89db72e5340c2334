package command

import (
	"context"
	"errors"
	"fmt"

	"github.com/vigilmon/vigil/agent/internal/agent"
)

// AgentCommand runs the agent.
type AgentCommand struct{ Meta }

// Synopsis implements Command.
func (c *AgentCommand) Synopsis() string { return "Run the agent (daemon, --once or --test)" }

// Help implements Command.
func (c *AgentCommand) Help() string {
	return `Usage: vigil agent [--config FILE] [--once | --test] [--log-level LEVEL] [--log-format text|json]

  Runs the monitoring agent with the configuration in FILE.

  As a daemon (the default) it gathers every collector and promise at its
  interval and ships the points to the configured outputs. SIGINT or
  SIGTERM drain and stop it within agent.shutdown_timeout; a second signal
  forces the exit. SIGHUP reloads the configuration: the new plugin set is
  started and validated first, and the old one keeps running if it fails.

Options:
  --config FILE     agent configuration (default /etc/vigil/agent.hcl)
  --once            gather everything once, flush the outputs and exit;
                    exit status 1 if any plugin, collection, check or
                    output failed
  --test            gather everything once and print line protocol to
                    stdout; nothing is sent to the outputs
  --log-level L     trace, debug, info, warn or error (default info)
  --log-format F    text or json (default text)`
}

type agentArgs struct {
	config    string
	once      bool
	test      bool
	logLevel  string
	logFormat string
}

func parseAgentArgs(c *AgentCommand, args []string) (agentArgs, error) {
	var a agentArgs
	fs := newFlags("agent", c.Stderr)
	fs.StringVar(&a.config, "config", "/etc/vigil/agent.hcl", "agent configuration file")
	fs.BoolVar(&a.once, "once", false, "gather once, flush, exit")
	fs.BoolVar(&a.test, "test", false, "gather once, print line protocol, send nothing")
	fs.StringVar(&a.logLevel, "log-level", "info", "log level")
	fs.StringVar(&a.logFormat, "log-format", "text", "log format")
	if err := fs.Parse(args); err != nil {
		return a, err
	}
	if fs.NArg() > 0 {
		return a, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if a.once && a.test {
		return a, errors.New("--once and --test cannot be used together")
	}
	return a, nil
}

// Run implements Command.
func (c *AgentCommand) Run(ctx context.Context, args []string) int {
	a, err := parseAgentArgs(c, args)
	if err != nil {
		fmt.Fprintf(c.Stderr, "vigil agent: %v\n", err)
		return ExitUsage
	}
	log, err := newLogger(c.Stderr, a.logLevel, a.logFormat)
	if err != nil {
		fmt.Fprintf(c.Stderr, "vigil agent: %v\n", err)
		return ExitUsage
	}
	opts := agent.Options{ConfigPath: a.config, Log: log, Stdout: c.Stdout, Stderr: c.Stderr, Version: c.Version}
	switch {
	case a.once || a.test:
		err = agent.Once(ctx, opts, a.test)
	default:
		err = agent.Daemon(ctx, opts, c.Signals)
	}
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, agent.ErrConfig):
		return ExitUsage
	default:
		fmt.Fprintf(c.Stderr, "vigil agent: %v\n", err)
		return ExitFailure
	}
}
