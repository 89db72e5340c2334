// Command counter is a test plugin that emits exactly `points` points per
// call, with a sequence number, so tests can count what arrives; it also
// serves the throughput benchmark.
package main

import (
	"context"
	"fmt"

	"github.com/vigilmon/vigil/sdk"
)

func main() {
	sdk.Serve(sdk.Manifest{
		Name: "counter", Version: "0.1.0", Description: "emits a counted number of points",
		Collectors: []sdk.Collector{{
			Name: "seq",
			Schema: sdk.Schema{
				{Name: "points", Type: sdk.TypeNumber, Default: 3, Description: "points per call"},
				{Name: "series", Type: sdk.TypeNumber, Default: 1, Description: "distinct series"},
			},
			New: func(cfg sdk.Config) (sdk.Gatherer, error) {
				n, series := cfg.Int("points"), cfg.Int("series")
				if n < 0 || series < 1 {
					return nil, sdk.AttributeError("series", "Invalid value", "points must be >= 0 and series >= 1")
				}
				seq := 0
				return sdk.GathererFunc(func(ctx context.Context, acc *sdk.Accumulator) error {
					ss := make([]*sdk.Series, series)
					for i := range ss {
						ss[i] = acc.Series("counter", map[string]string{"host": "h", "region": "r", "series": fmt.Sprint(i)}, "seq", "value")
					}
					t := acc.Time()
					for i := 0; i < n; i++ {
						seq++
						ss[i%series].Add(t.Add(timeStep(i)), float64(seq), float64(i)*0.5)
					}
					return nil
				}), nil
			},
		}},
	})
}
