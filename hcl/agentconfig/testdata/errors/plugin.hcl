plugin "System" { # ERROR: Invalid plugin name
  version = "1.0" # ERROR: Invalid plugin version
  collect = ["cpu", "Mem"] # ERROR: Invalid collector name
  config  = "disk" # ERROR: Incorrect attribute value type
}

plugin "net" { # ERROR: Missing required argument
  promise "web" { # ERROR: Missing required argument
    config = ["a"] # ERROR: Incorrect attribute value type
  }

  promise "api" {
    check = "HTTP check" # ERROR: Invalid promise check name
    bang  = "systemctl restart api" # ERROR: Incorrect attribute value type
  }
}
