agent { interval = "10s" }
plugin "system" {
	version = "1.2.0"   # tab-indented
	config = {}
}
output "stdout" {}
