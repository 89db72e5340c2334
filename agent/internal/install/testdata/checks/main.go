// Command checks is a test plugin of package install: promise checks that
// run on their defaults, one with a required key, one whose defaults the
// plugin itself refuses, and one whose id the tests' agent.hcl takes.
package main

import (
	"context"

	"github.com/vigilmon/vigil/sdk"
)

func main() {
	ok := func(msg string) sdk.Checker {
		return sdk.CheckerFunc(func(context.Context) (sdk.Result, error) {
			return sdk.Result{Status: sdk.OK, Message: msg}, nil
		})
	}
	sdk.Serve(sdk.Manifest{
		Name: "checks", Version: "0.1.0", Description: "promise checks for install's tests",
		Promises: []sdk.Promise{
			{
				Name: "up", Description: "OK with the message.",
				Schema: sdk.Schema{{Name: "message", Type: sdk.TypeString, Default: "fine", Description: "What OK says."}},
				New:    func(cfg sdk.Config) (sdk.Checker, error) { return ok(cfg.String("message")), nil },
			},
			{
				Name: "quiet", Description: "Always OK.",
				New: func(sdk.Config) (sdk.Checker, error) { return ok("quiet"), nil },
			},
			{
				Name: "dup", Description: "Always OK; the tests' agent.hcl already uses its id.",
				New: func(sdk.Config) (sdk.Checker, error) { return ok("dup"), nil },
			},
			{
				Name: "file", Description: "Pretends to check a file.",
				Schema: sdk.Schema{
					{Name: "path", Type: sdk.TypeString, Required: true, Description: "The file to check."},
					{Name: "max_age", Type: sdk.TypeDuration, Default: "1h"},
				},
				New: func(cfg sdk.Config) (sdk.Checker, error) { return ok(cfg.String("path")), nil },
			},
			{
				Name: "either", Description: "Needs a or b, which the schema cannot say.",
				Schema: sdk.Schema{{Name: "a", Type: sdk.TypeString}, {Name: "b", Type: sdk.TypeString}},
				New: func(cfg sdk.Config) (sdk.Checker, error) {
					if cfg.String("a") == "" && cfg.String("b") == "" {
						return nil, sdk.AttributeError("a", "Nothing to check", "set a or b")
					}
					return ok("either"), nil
				},
			},
		},
	})
}
