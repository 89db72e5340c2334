# This file is maintained by vigil install. Manual edits may be lost.

plugin "system" {
  version = "0.1.0"
  source  = "local"

  platform "linux_amd64" {
    binary = "sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
  }
}

plugin "process" {
  version = "0.1.0"
  source  = "local"
}
