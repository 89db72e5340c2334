// Command vigil-registry runs the Vigil plugin registry and administers it.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/vigilmon/vigil/registry/internal/command"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	os.Exit(command.Main(context.Background(), command.Meta{
		Version: version,
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
		Signals: sigs,
		Getenv:  os.Getenv,
	}, os.Args[1:]))
}
