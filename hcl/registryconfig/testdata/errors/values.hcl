listen = 8480 # ERROR: Invalid listen value

storage "postgres" { # ERROR: Missing required argument
  path = "x.db" # ERROR: Unsupported argument
}

storage "sqlite" { # ERROR: Duplicate storage block
  path = "x.db"
}

evaluation {
  timeout        = "forever" # ERROR: Invalid timeout value
  method_timeout = "-1s" # ERROR: Invalid method_timeout value
  workers        = 0 # ERROR: Invalid workers value
}
