# Unknown names get "Did you mean" in their detail.
agent {
  intervl = "10s" # ERROR: Unsupported argument
}

agnet { # ERROR: Unsupported block type
}

plugin "system" {
  version = "1.0.0"
  colect  = ["cpu"] # ERROR: Unsupported argument

  promise "disk" {
    check = "disk_free"
    anomali { # ERROR: Unsupported block type
    }
  }
}

promise "load" {
  command    = ["check_load"]
  exit_codes = "nagio" # ERROR: Unsupported exit_codes value
}

output "influx" {} # ERROR: Unsupported output kind

output "file" { # ERROR: Missing required argument
  pth = "points.lp" # ERROR: Unsupported argument
}
