version = "1.0.0" # ERROR: Unsupported argument

plugin "system" { # ERROR: Missing required argument
  versoin = "1.0.0" # ERROR: Unsupported argument
}

plugin "net" {
  version = "1.0.0"
  platform "linux_amd64" { # ERROR: Missing required argument
  }
  platform "linux_amd64" { # ERROR: Duplicate platform
    binary = "sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
    hash   = "sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb" # ERROR: Unsupported argument
  }
  platfrom "linux_arm64" { # ERROR: Unsupported block type
  }
}

plugin "net" { # ERROR: Duplicate plugin
  version = "1.0.0"
}
