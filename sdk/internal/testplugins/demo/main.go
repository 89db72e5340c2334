// Command demo is the plugin the SDK's own tests launch: a collector that
// generates points on demand and promises that report what they are told,
// so tests can drive every path of the protocol from the host side.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/vigilmon/vigil/sdk"
)

func main() {
	// A path given as first argument is created at start: tests use it to
	// prove whether the binary was executed at all.
	if len(os.Args) > 1 {
		_ = os.WriteFile(os.Args[1], []byte("started"), 0o644)
	}
	sdk.Serve(manifest())
}

func manifest() sdk.Manifest {
	return sdk.Manifest{
		Name:        "demo",
		Version:     "1.2.3",
		Description: "test plugin of the Vigil SDK",
		Collectors: []sdk.Collector{{
			Name: "gen",
			Schema: sdk.Schema{
				{Name: "points", Type: sdk.TypeNumber, Default: 10},
				{Name: "series", Type: sdk.TypeNumber, Default: 2},
				{Name: "sleep", Type: sdk.TypeDuration, Default: "0s"},
			},
			New: func(cfg sdk.Config) (sdk.Gatherer, error) {
				n, series := cfg.Int("points"), cfg.Int("series")
				if series < 1 {
					return nil, sdk.AttributeError("series", "Invalid series count", "series must be at least 1, got %d", series)
				}
				sleep, err := cfg.Duration("sleep")
				if err != nil {
					return nil, err
				}
				return sdk.GathererFunc(func(ctx context.Context, acc *sdk.Accumulator) error {
					if sleep > 0 {
						select {
						case <-time.After(sleep):
						case <-ctx.Done():
							return ctx.Err()
						}
					}
					ss := make([]*sdk.Series, series)
					for i := range ss {
						ss[i] = acc.Series("gen", map[string]string{"host": "h", "region": "r", "series": fmt.Sprint(i)}, "a", "b")
					}
					t := acc.Time()
					for i := 0; i < n; i++ {
						ss[i%series].Add(t.Add(time.Duration(i)), float64(i), float64(i)/2)
					}
					return nil
				}), nil
			},
		}},
		Promises: []sdk.Promise{{
			Name: "status",
			Schema: sdk.Schema{
				{Name: "status", Type: sdk.TypeNumber, Required: true},
				{Name: "message", Type: sdk.TypeString, Default: "told so"},
			},
			New: func(cfg sdk.Config) (sdk.Checker, error) {
				return sdk.CheckerFunc(func(context.Context) (sdk.Result, error) {
					r := sdk.Result{Status: sdk.Status(cfg.Int("status")), Message: cfg.String("message")}
					r.Perfdata = []sdk.Perfdata{{Label: "status", Value: float64(r.Status)}}
					return r, nil
				}), nil
			},
		}, {
			Name:   "env",
			Schema: sdk.Schema{{Name: "name", Type: sdk.TypeString, Required: true}},
			New: func(cfg sdk.Config) (sdk.Checker, error) {
				return sdk.CheckerFunc(func(context.Context) (sdk.Result, error) {
					v, ok := os.LookupEnv(cfg.String("name"))
					return sdk.Result{Status: sdk.OK, Message: fmt.Sprintf("%t:%s", ok, v)}, nil
				}), nil
			},
		}, {
			Name: "fail",
			New: func(sdk.Config) (sdk.Checker, error) {
				return sdk.CheckerFunc(func(context.Context) (sdk.Result, error) {
					return sdk.Result{}, fmt.Errorf("disk on fire")
				}), nil
			},
		}},
	}
}
