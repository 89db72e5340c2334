# A registry on PostgreSQL with its artifacts on a separate disk.
listen       = "0.0.0.0:8480"
data_dir     = "/var/lib/vigil-registry"
artifact_dir = "artifacts-disk" # relative to this file

storage "postgres" {
  dsn = "postgres://vigil@127.0.0.1:5432/vigil"
}

evaluation {
  timeout        = "2m"
  method_timeout = "5s"
  workers        = 2
}

# Metrics go to an InfluxDB; the forwarding queue bounds what waits for it.
metrics "influxdb" {
  url             = "http://127.0.0.1:8086"
  database        = "vigil"
  username        = "vigil"
  password        = "secret"
  queue_max_bytes = "2GiB"
  gzip            = false # InfluxDB runs on this host
}

ingest {
  max_body         = "16MiB"
  max_decompressed = 134217728
  dedupe_window    = "48h"
  unapproved       = "reject"
}
