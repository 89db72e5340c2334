agent {
  data_dir = "data"
}
