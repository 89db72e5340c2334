plugin "system" {
  version = "0.1.0"
  source  = "local"
  platform "linux_amd64" { binary = "sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb" }
  platform "darwin_arm64" {
    binary = "sha256:18ac3e7343f016890c510e93f935261169d9e3f565436429830faf0934f4f8e4"
  }
}
# no newline at the end
