# only a comment

plugin "system" {
  version = "1.0.0"
}
