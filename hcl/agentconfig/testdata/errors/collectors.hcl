plugin "system" {
  version = "1.0.0"
  collect = ["cpu", "memory"]

  collector "cpu" {
    interval = "1s"
  }
  collector "cpu" { # ERROR: Duplicate collector block
    interval = "2s"
  }
  collector "disk" { # ERROR: Collector not enabled
    interval = "1m"
  }
  collector "memory" {
    interval = "soon" # ERROR: Invalid duration
    intervall = "1s"  # ERROR: Unsupported argument
  }
}
