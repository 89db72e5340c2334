# The example of ARCHITECTURE.md "Configuration (HCL)", with the two
# single-line blocks that held two arguments written on several lines (HCL
# allows one argument in a single-line block).
agent {
  node       = "web-1"                    # default: the hostname
  tags       = { site = "paris", role = "web" }
  interval   = "10s"                      # default for collectors and promises
  plugin_dir = "/var/lib/vigil/plugins"   # default: <data_dir>/plugins
  data_dir   = "/var/lib/vigil"           # spool, promise state, local API socket
}

registry {
  url          = "https://registry.example.net"
  token        = "..."                    # agent token
  signing_keys = ["ed25519:..."]          # trusted publisher keys (optional: TOFU into the lock file)
}

plugin "system" {
  version  = "1.2.0"
  collect  = ["cpu", "memory", "disk", "load", "net"]
  interval = "10s"
  config   = { disk_fs_types = ["ext4", "xfs"] }   # per-plugin config, checked against its schema

  promise "disk-root" {                   # a promise check implemented by the plugin
    check    = "disk_free"
    config   = { path = "/", warn = "20%", crit = "10%" }
    interval = "1m"
    timeout  = "10s"
    anomaly {
      result_count   = 3
      failure_amount = 3
    }
    bang     = ["systemctl", "restart", "web"]
  }
}

promise "load" {                          # an executable promise (Nagios / SlapOS script)
  command    = ["/usr/lib/nagios/plugins/check_load", "-w", "5,4,3", "-c", "10,8,6"]
  interval   = "1m"
  timeout    = "20s"
  exit_codes = "nagios"                   # or "slapos": any non-zero exit is a failure
}

output "registry" {}                      # the default when a registry block exists
output "influxdb" {
  url      = "http://127.0.0.1:8086"
  database = "vigil"
}
output "file"     { path = "/var/log/vigil/points.lp" }
