plugin "system" {
  version  = "0.1.0"
  collect  = ["cpu", "memory", "swap", "disk", "diskio", "net", "load", "system"]
  interval = "10s"
  config = {
    cpu_per_core   = true
    cpu_total      = true
    disk_fs_types  = ["ext4", "xfs", "btrfs", "vfat"]
    diskio_devices = ["sd*", "nvme*", "vd*"]
    net_interfaces = ["eth*", "en*", "wl*"]
  }
}
