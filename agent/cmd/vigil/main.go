// Command vigil is the Vigil agent and its command line.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/vigilmon/vigil/agent/internal/command"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	os.Exit(command.Main(context.Background(), command.Meta{
		Version: version,
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
		Signals: sigs,
	}, os.Args[1:]))
}
