# Vigil agent configuration.
# Comments, blank lines and alignment here must survive every edit.

/* A block comment
   over several lines. */
agent {
  node     = "web-1"          # trailing comment on node
  tags     = { site = "paris", role = "web" }
  interval = "10s"    // a C++-style comment

  # data_dir = "/srv/vigil"   (commented-out default)
}

// The registry.
registry {
  url   = "https://registry.example.net"
  token = "..." # agent token
}

plugin "system" {
  version = "1.2.0"
  # Which collectors run.
  collect = ["cpu", "memory"]
  config = {
    # file systems to report
    disk_fs_types = ["ext4", "xfs"]   # trailing
    mounts        = 3
  }

  promise "disk-root" {
    check  = "disk_free"
    config = { path = "/", warn = "20%" }
    anomaly {
      result_count = 3
    }
  }

  # Trailing comment of the plugin block.
}

plugin "hello" {
  version = "0.1.0"
  collect = ["files"]
  config = {
    max_files = 1000
  }

  # up: OK while the plugin answers.
  promise "hello-up" {
    check = "up"
    config = {
      message = "fine"
      min     = 1
    }
  }

  # fresh: CRITICAL when a file is too old.
  # Not enabled: set path (glob pattern), then uncomment the block.
  # promise "hello-fresh" {
  #   check = "fresh"
  #   config = {
  #     max_age = "24h"
  #     path    = null
  #   }
  # }
}

promise "load" {
  command = ["/usr/lib/nagios/plugins/check_load", "-w", "5,4,3"]
  timeout = "20s"
}

output "file"     { path = "/var/log/vigil/points.lp" }
output "stdout" {}

# End of file.
