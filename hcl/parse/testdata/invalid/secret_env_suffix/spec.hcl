storage "local" "disk" {
  path = env("MYSQL_PWD")
}
