data_dir = "data"

storage "sqlite" {
  path = "/srv/catalog.db"
}
