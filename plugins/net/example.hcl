plugin "net" {
  version = "0.1.0"

  promise "web-home" {
    check = "http"
    config = {
      url            = "https://www.example.net/"
      body_match     = "<title>Example</title>"
      warn_latency   = "500ms"
      crit_latency   = "2s"
      cert_days_warn = 21
      headers        = { "Accept-Language" = "en" }
    }
    interval = "1m"
    timeout  = "15s"
    anomaly {
      result_count   = 3
      failure_amount = 2
    }
  }

  promise "api-health" {
    check  = "http"
    config = { url = "http://127.0.0.1:8080/healthz", expect_status = [200, 204], timeout = "3s" }
  }

  promise "postgres-port" {
    check  = "tcp"
    config = { address = "127.0.0.1:5432", timeout = "5s", warn_latency = "100ms" }
  }

  promise "smtp-banner" {
    check    = "tcp"
    config   = { address = "mail.example.net:25", expect = "220 " }
    interval = "5m"
    bang     = ["systemctl", "restart", "postfix"]
  }
}
