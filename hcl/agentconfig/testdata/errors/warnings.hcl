# Warnings do not stop the agent, but they are reported.
agent {
  interval = "10s"
  jitter   = "10s" # WARNING: Jitter not shorter than interval
}

plugin "system" {
  version = "1.0.0"
  timeout = "30s" # WARNING: Timeout longer than interval

  promise "disk" {
    check    = "disk_free"
    interval = "1m"
    timeout  = "10s"
    anomaly {
      result_count   = 2
      failure_amount = 3 # WARNING: Anomaly can never open
    }
  }
}

promise "slow" {
  command  = ["sleep", "5"]
  interval = "5s" # WARNING: Timeout longer than interval
}

promise "quiet" {
  command = ["true"] # the default timeout (20s) above the default interval (10s) does not warn
}
