// Command panicky is a test plugin whose collector panics on its second
// call in each process: the agent must restart it and carry on.
package main

import (
	"context"

	"github.com/vigilmon/vigil/sdk"
)

func main() {
	sdk.Serve(sdk.Manifest{
		Name: "panicky", Version: "0.1.0", Description: "panics on its second call",
		Collectors: []sdk.Collector{{
			Name: "tick",
			New: func(sdk.Config) (sdk.Gatherer, error) {
				calls := 0
				return sdk.GathererFunc(func(ctx context.Context, acc *sdk.Accumulator) error {
					calls++
					if calls == 2 {
						panic("panicky: second call")
					}
					acc.AddFields("panicky", nil, map[string]any{"call": calls}, acc.Time())
					return nil
				}), nil
			},
		}},
	})
}
