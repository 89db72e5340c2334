metrics "influxdb" { # ERROR: Missing required argument
  url             = "127.0.0.1:8086" # ERROR: Invalid InfluxDB URL
  queue_max_bytes = -1 # ERROR: Invalid queue_max_bytes value
  retention       = "1h" # ERROR: Unsupported argument
  gzip            = "no" # ERROR: Invalid gzip value
}
