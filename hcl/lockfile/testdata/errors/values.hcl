plugin "System" { # ERROR: Invalid plugin name
  version     = "1.0" # ERROR: Invalid version
  source      = "registry.example.net" # ERROR: Invalid source
  signing_key = "rsa:abc" # ERROR: Invalid signing key

  platform "linux-amd64" { # ERROR: Invalid platform
    binary  = "sha256:CA978112CA1BBDCAFAC231B39A23DC4DA786EFF8147C4E72B9807785AFEE48BB" # ERROR: Invalid hash
    archive = "md5:d41d8cd98f00b204e9800998ecf8427e" # ERROR: Invalid hash
  }
  platform "linux_arm64" {
    binary = "sha256:ca97" # ERROR: Invalid hash
  }
}

plugin "net" {
  version     = 2 # ERROR: Invalid value
  constraints = "~> ${1}" # ERROR: Invalid value
  source      = "" # ERROR: Empty value
}
