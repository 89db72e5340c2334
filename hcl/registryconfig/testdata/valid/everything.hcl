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
