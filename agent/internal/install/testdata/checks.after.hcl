# The operator's agent configuration.
agent {
  data_dir = "data" # relative to this file
}

# A promise the operator wrote by hand: its id is taken.
promise "checks-dup" {
  command = ["true"]
}

plugin "checks" {
  version = "0.1.0"

  # up: OK with the message.
  promise "checks-up" {
    check = "up"
    config = {
      message = "fine"
    }
  }

  # quiet: Always OK.
  promise "checks-quiet" {
    check = "quiet"
  }

  # dup: Always OK; the tests' agent.hcl already uses its id.
  # Not enabled: this file already declares a promise "checks-dup"; give this
  # one another id, then uncomment the block.
  # promise "checks-dup" {
  #   check = "dup"
  # }

  # file: Pretends to check a file.
  # Not enabled: set in config, then uncomment the block:
  #   path: The file to check (string)
  # promise "checks-file" {
  #   check = "file"
  #   config = {
  #     max_age = "1h"
  #     path    = null
  #   }
  # }

  # either: Needs a or b, which the schema cannot say.
  # Not enabled: with only its defaults, the plugin refuses it; set what it
  # asks for in config, then uncomment the block:
  #   a: Nothing to check: set a or b
  # promise "checks-either" {
  #   check = "either"
  #   config = {
  #     a = null
  #   }
  # }
}
