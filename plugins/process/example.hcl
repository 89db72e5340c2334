plugin "process" {
  version  = "0.1.0"
  collect  = ["process"]
  interval = "10s"
  config = {
    names   = ["postgres", "nginx"]
    cmdline = "^/usr/bin/python3 .*myapp"
  }

  promise "postgres-running" {
    check    = "running"
    config   = { names = ["postgres"], min = 1 }
    interval = "1m"
    timeout  = "10s"
    anomaly {
      result_count   = 3
      failure_amount = 3
    }
    bang = ["systemctl", "restart", "postgresql"]
  }

  promise "one-nginx-master" {
    check  = "running"
    config = { pidfile = "/run/nginx.pid", min = 1, max = 1 }
  }
}
