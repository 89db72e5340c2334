package main

import "github.com/vigilmon/vigil/sdk"

func main() {
	sdk.Serve(newManifest())
}
