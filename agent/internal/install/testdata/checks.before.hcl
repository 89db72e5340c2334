# The operator's agent configuration.
agent {
  data_dir = "data" # relative to this file
}

# A promise the operator wrote by hand: its id is taken.
promise "checks-dup" {
  command = ["true"]
}
