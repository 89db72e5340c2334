# This file is maintained by vigil install. Manual edits may be lost.

# system: pinned by ops, see TICKET-12
plugin "system" {
  version     = "0.2.0" # bumped by hand
  source      = "https://registry.example.net"
  constraints = "~> 0.2"
  signing_key = "ed25519:O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik="

  # amd64 servers
  platform "linux_amd64" {
    binary  = "sha256:6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b"
    archive = "sha256:d4735e3a265e16eee03f59718b9b5d03019c07d8b6c51f90da3a666eec13ab35"
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

# end of file

plugin "http" {
  version = "1.0.0"
  source  = "https://registry.example.net"

  platform "linux_amd64" {
    binary  = "sha256:3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"
    archive = "sha256:2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6"
  }
  platform "linux_arm64" {
    binary = "sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
  }
}
