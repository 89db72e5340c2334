data_dir = "data"

storage "sqlite" {
  path = "/srv/catalog.db"
}

metrics "embedded" {
  retention = "720h" # 30 days
}
