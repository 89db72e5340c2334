agent {
  node             = "" # ERROR: Empty node name
  tags             = {
    site = 1         # ERROR: Incorrect attribute value type
    node = "web"     # ERROR: Reserved tag
  }
  interval         = "10" # ERROR: Invalid duration
  flush_interval   = "0s" # ERROR: Duration must be positive
  shutdown_timeout = "-5s" # ERROR: Duration must be positive
  batch_size       = 1.5 # ERROR: Invalid number
  data_dir         = ["a"] # ERROR: Incorrect attribute value type
  plugin_dir       = "" # ERROR: Empty value
  jitter           = var.jitter # ERROR: Variables not allowed
}

registry {
  url          = "registry.example.net" # ERROR: Invalid registry URL
  signing_keys = ["ed25519:abc", "rsa:abc"] # ERROR: Invalid signing key
}

promise "env" {
  command = ["check"]
  env     = ["LANG=C", "NOEQUALS"] # ERROR: Invalid environment entry
  timeout = 20 # ERROR: Invalid duration
  anomaly {
    result_count   = 0 # ERROR: Value must be positive
    failure_amount = "three" # ERROR: Incorrect attribute value type
  }
}

promise "bad/id" { # ERROR: Invalid promise id
  command = [] # ERROR: Empty command
}

promise "empty-program" {
  command = ["", "-v"] # ERROR: Empty program
  bang    = [] # ERROR: Empty command
}
