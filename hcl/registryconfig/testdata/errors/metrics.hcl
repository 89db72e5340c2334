metrics "prometheus" {} # ERROR: Unsupported metrics backend

metrics "influxdb" { # ERROR: Duplicate metrics block
  url = "http://x"
}

ingest {
  max_body      = "lots" # ERROR: Invalid max_body value
  dedupe_window = "1d" # ERROR: Invalid dedupe_window value
  unapproved    = "flagg" # ERROR: Invalid unapproved value
}
