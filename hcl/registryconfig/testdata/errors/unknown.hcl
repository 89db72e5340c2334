# Unknown names get "Did you mean" in their detail.
listn = "127.0.0.1:8480" # ERROR: Unsupported argument

storage "sqlit" { # ERROR: Unsupported storage kind
  path = "x.db"
}

evaluaton { # ERROR: Unsupported block type
}

ingest {
  unapproved = "flagg" # ERROR: Invalid unapproved value
}
