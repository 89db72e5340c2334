// Command hang is a test plugin whose collector never returns and ignores
// cancellation: the agent must time the call out, kill it and restart it.
package main

import (
	"context"

	"github.com/vigilmon/vigil/sdk"
)

func main() {
	sdk.Serve(sdk.Manifest{
		Name: "hang", Version: "0.1.0", Description: "hangs in every call",
		Collectors: []sdk.Collector{{
			Name: "stuck",
			New: func(sdk.Config) (sdk.Gatherer, error) {
				return sdk.GathererFunc(func(context.Context, *sdk.Accumulator) error {
					select {}
				}), nil
			},
		}},
	})
}
