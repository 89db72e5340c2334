// Command probe is a test plugin for the evaluator: each of its methods
// behaves in one way the evaluator must classify.
package main

import (
	"context"
	"errors"

	"github.com/vigilmon/vigil/sdk"
)

func main() {
	gather := func(err error) func(sdk.Config) (sdk.Gatherer, error) {
		return func(sdk.Config) (sdk.Gatherer, error) {
			return sdk.GathererFunc(func(_ context.Context, acc *sdk.Accumulator) error {
				acc.AddFields("probe", nil, map[string]any{"v": 1.0}, acc.Time())
				return err
			}), nil
		}
	}
	check := func(r sdk.Result, err error) func(sdk.Config) (sdk.Checker, error) {
		return func(sdk.Config) (sdk.Checker, error) {
			return sdk.CheckerFunc(func(context.Context) (sdk.Result, error) { return r, err }), nil
		}
	}
	sdk.Serve(sdk.Manifest{
		Name: "probe", Version: "1.0.0", Description: "one method per evaluator outcome",
		Collectors: []sdk.Collector{
			{Name: "works", New: gather(nil)},
			{Name: "errors", New: gather(errors.New("disk on fire"))},
			{
				Name:   "bad_default",
				Schema: sdk.Schema{{Name: "n", Type: sdk.TypeNumber, Default: -1}},
				New: func(cfg sdk.Config) (sdk.Gatherer, error) {
					return nil, sdk.AttributeError("n", "Invalid value", "n must be positive")
				},
			},
		},
		Promises: []sdk.Promise{
			{Name: "critical", New: check(sdk.Result{Status: sdk.Critical, Message: "down"}, nil)},
			{Name: "check_error", New: check(sdk.Result{}, errors.New("cannot tell"))},
			{
				Name:   "needs_path",
				Schema: sdk.Schema{{Name: "path", Type: sdk.TypeString, Required: true}, {Name: "warn", Type: sdk.TypeNumber, Default: 20}},
				New:    check(sdk.Result{Status: sdk.OK}, nil),
			},
		},
	})
}
