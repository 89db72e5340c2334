# only a comment

agent {
  interval = "30s"
}
