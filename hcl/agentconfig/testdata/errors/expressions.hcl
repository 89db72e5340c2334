# agent.hcl holds plain values; anything computed is refused before it is
# evaluated.
agent {
  node        = "web-${1}" # ERROR: Unsupported expression
  batch_size  = 10 * 1000 # ERROR: Unsupported expression
  interval    = true ? "10s" : "20s" # ERROR: Unsupported expression
  tags        = { for k in ["a"] : k => k } # ERROR: Unsupported expression
  data_dir    = "${"/srv"}" # ERROR: Unsupported expression
  jitter      = 1e999999999 # ERROR: Number out of range
  flush_interval = -1e-999999 # ERROR: Number out of range
  shutdown_timeout = -(5) # negation and parentheses are plain
}
