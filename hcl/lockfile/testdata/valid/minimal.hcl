plugin "net" {
  version = "2.0.0-beta.1+build.7"
}
