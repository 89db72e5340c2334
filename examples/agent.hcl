# A local Vigil agent configuration: run it with
#
#   vigil agent --config examples/agent.hcl
#
# Metrics and promise results are printed to stdout as InfluxDB line
# protocol. Relative paths are resolved against this file's directory.

agent {
  node     = "demo"                           # default: the hostname
  tags     = { env = "dev", site = "laptop" } # added to every point
  interval = "10s"                            # default for collectors and promises
  data_dir = ".vigil"                         # spool, promise state, local API socket; plugins in .vigil/plugins
}

# Host metrics from the first-party system plugin.
plugin "system" {
  version = "0.1.0"
  collect = ["cpu", "memory", "disk", "load", "net", "system"]
  config = {
    disk_fs_types = ["ext4", "xfs", "overlay", "tmpfs"] # file systems the disk collector reports
  }
}

# The process plugin is used here for its promise only (collect = [] runs
# none of its collectors).
plugin "process" {
  version = "0.1.0"
  collect = []

  promise "agent-running" {
    check = "running"
    config = {
      names = ["vigil"] # process names (as in /proc/<pid>/comm) to look for
      min  = 1       # CRITICAL when fewer are running
    }
  }
}

# An executable promise: any Nagios plugin (exit codes 0-3, "|" perfdata)
# or SlapOS-style script (exit_codes = "slapos").
promise "load" {
  command  = ["/usr/lib/nagios/plugins/check_load", "-w", "5,4,3", "-c", "10,8,6"]
  interval = "1m"
}

output "stdout" {}
