plugin "hello" {
  version  = "0.1.0"
  collect  = ["files"]
  interval = "1m"
  config   = { paths = ["/var/backups/*.tar.gz", "/var/log/app/*.log"] }

  # The nightly backup must be less than a day old.
  promise "backup-fresh" {
    check    = "fresh"
    config   = { path = "/var/backups/*.tar.gz", max_age = "26h", warn_age = "24h" }
    interval = "10m"
    timeout  = "10s"
    anomaly {
      result_count   = 2
      failure_amount = 2
    }
  }
}
