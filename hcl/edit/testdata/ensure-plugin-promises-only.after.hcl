agent {
  data_dir = "data"
}

plugin "net" {
  version = "0.1.0"
  collect = []

  # promise "net-tcp" {
  #   check = "tcp"
  #   config = {
  #     address = null
  #   }
  # }
}
