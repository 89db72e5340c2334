output "registry" {} # ERROR: Missing registry block

output "influxdb" { # ERROR: Missing required argument
  url     = "127.0.0.1:8086" # ERROR: Invalid InfluxDB URL
  gzip    = "yes" # ERROR: Incorrect attribute value type
  spool_max_bytes = 4096 # ERROR: Spool is off
}

output "file" {
  path            = "x.lp"
  spool_max_bytes = "1GiB" # ERROR: Unsupported argument
}

output "stdout" {
  timeout = "1s" # ERROR: Unsupported argument
}

output "influxdb" { # ERROR: Duplicate output
  url             = "http://127.0.0.1:8086"
  database        = "x"
  spool_max_bytes = "10 parsecs" # ERROR: Invalid size
}
