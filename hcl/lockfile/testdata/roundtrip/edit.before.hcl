# This file is maintained by vigil install. Manual edits may be lost.

# system: pinned by ops, see TICKET-12
plugin "system" {
  version = "0.1.0" # bumped by hand
  source  = "https://registry.example.net"

  # amd64 servers
  platform "linux_amd64" {
    binary  = "sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
    archive = "sha256:3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"
  }
  platform "linux_arm64" {
    binary = "sha256:2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6"
  }
}

# process plugin built locally
plugin "process" {
  version = "0.2.0"
  source  = "local"

  platform "linux_amd64" {
    binary = "sha256:18ac3e7343f016890c510e93f935261169d9e3f565436429830faf0934f4f8e4"
  }
}

# docker, to be removed
plugin "docker" {
  version = "1.0.0"

  platform "linux_amd64" {
    binary = "sha256:3f79bb7b435b05321651daefd374cdc681dc06faa65e374e38337b88ca046dea"
  }
}

# end of file
