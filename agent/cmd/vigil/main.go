package main

import (
	_ "github.com/hashicorp/go-hclog"
	_ "github.com/hashicorp/hcl/v2"
	_ "github.com/influxdata/line-protocol/v2/lineprotocol"
	_ "github.com/spf13/pflag"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/vigilmon/vigil/sdk"
	_ "github.com/zclconf/go-cty/cty"
)

func main() {}
