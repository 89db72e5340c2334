agent {
  node = "a"
}
agent { # ERROR: Duplicate agent block
  node = "b"
}

registry {
  url = "https://r.example"
}
registry { # ERROR: Duplicate registry block
  url = "https://r2.example"
}

plugin "system" {
  version = "1.0.0"
  collect = ["cpu", "memory", "cpu"] # ERROR: Duplicate collector
  config  = {
    disk_fs_types = ["ext4"]
    disk_fs_types = ["xfs"] # ERROR: Duplicate key
  }

  promise "disk-root" {
    check = "disk_free"
    anomaly {
      result_count = 3
    }
    anomaly { # ERROR: Duplicate anomaly block
      result_count = 4
    }
  }
}

plugin "system" { # ERROR: Duplicate plugin block
  version = "1.0.0"
}

plugin "net" {
  version = "1.0.0"

  promise "disk-root" { # ERROR: Duplicate promise
    check = "http"
  }
}

promise "disk-root" { # ERROR: Duplicate promise
  command = ["check_disk"]
}

output "stdout" {}
output "stdout" {} # ERROR: Duplicate output
