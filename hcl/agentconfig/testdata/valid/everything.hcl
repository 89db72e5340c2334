# Every argument the agent block and the other blocks accept.
agent {
  node             = "db-2"
  tags             = { "dc" = "fra1", rack = "r12" }
  interval         = "30s"
  jitter           = "2s"
  data_dir         = "state"
  plugin_dir       = "../plugins"
  flush_interval   = "500ms"
  batch_size       = 5000
  shutdown_timeout = "1m"
  plugin_auto_mtls = false
  internal_metrics = false # no vigil_* health points
}

registry {
  url   = "http://registry.internal:8080"
  token = "vgl_agent_abc"
}

plugin "process" {
  version = "0.3.1-rc.1"
  collect = []
  timeout = "5s"

  promise "agent-running" {
    check  = "running"
    config = {
      name = "vigil"
      min  = 1
    }
  }
}

plugin "system" {
  version = "0.1.0"
  collect = ["cpu", "disk"]

  collector "cpu" {
    interval = "5s"
  }
  collector "disk" {
    interval = "5m"
    timeout  = "30s"
  }
}

promise "backup.fresh" {
  command    = ["./scripts/check_backup.sh", "--max-age", "26h"]
  timeout    = "1m"
  interval   = "5m"
  exit_codes = "slapos"
  env        = ["LANG=C", "BACKUP_DIR=/srv/backup"]
  bang       = ["systemctl", "start", "backup.service"]
  anomaly {
    result_count   = 5
    failure_amount = 2
  }
}

output "stdout" {}
output "file" {
  path = "out/points.lp"
}
output "influxdb" {
  url      = "https://influx.internal:8086"
  database = "metrics"
  username = "vigil"
  password = "secret"
  gzip     = false
  timeout  = "3s"
  # a disk spool keeps batches through an InfluxDB outage and a restart
  spool           = true
  spool_max_bytes = "64MiB"
}
