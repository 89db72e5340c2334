output "registry" {} # ERROR: Missing registry block

output "influxdb" { # ERROR: Missing required argument
  url     = "127.0.0.1:8086" # ERROR: Invalid InfluxDB URL
  gzip    = "yes" # ERROR: Incorrect attribute value type
}

output "stdout" {
  timeout = "1s" # ERROR: Unsupported argument
}
