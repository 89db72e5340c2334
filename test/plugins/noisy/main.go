// Command noisy is a test plugin that writes to stdout before the
// handshake, which corrupts the go-plugin protocol: the agent must refuse
// it with a clear error and keep the other plugins running.
package main

import (
	"context"
	"fmt"

	"github.com/vigilmon/vigil/sdk"
)

func main() {
	fmt.Println("hello from noisy, this is not a handshake")
	sdk.Serve(sdk.Manifest{
		Name: "noisy", Version: "0.1.0", Description: "prints before the handshake",
		Collectors: []sdk.Collector{{
			Name: "x",
			New: func(sdk.Config) (sdk.Gatherer, error) {
				return sdk.GathererFunc(func(context.Context, *sdk.Accumulator) error { return nil }), nil
			},
		}},
	})
}
