package sdk

// Serve runs the plugin described by m until its host goes away. Call it
// from main and nothing else; it never returns. (Implementation in progress.)
func Serve(m Manifest) {
	panic("sdk.Serve: not implemented yet")
}
