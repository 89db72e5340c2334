package main

import "github.com/vigilmon/vigil/sdk"

const (
	pluginName    = "net"
	pluginVersion = "0.1.0"
)

// newManifest declares the plugin and its promises.
func newManifest() sdk.Manifest {
	return sdk.Manifest{
		Name:        pluginName,
		Version:     pluginVersion,
		Description: "TCP and HTTP(S) checks with latency, status, content and certificate expiry.",
		Promises: []sdk.Promise{
			{
				Name:        "tcp",
				Description: "Connects to host:port, optionally sends a string and expects one back (like check_tcp).",
				Schema: append(sdk.Schema{
					{Name: "address", Type: sdk.TypeString, Required: true,
						Description: "host:port to connect to, e.g. \"db.internal:5432\" or \"[::1]:22\"."},
					{Name: "send", Type: sdk.TypeString,
						Description: "String to send once connected (escape sequences as HCL writes them, e.g. \"PING\\r\\n\")."},
					{Name: "expect", Type: sdk.TypeString,
						Description: "Substring the response must contain; the check reads until it appears, the peer closes or the timeout."},
				}, latencySchema()...),
				New: newTCP,
			},
			{
				Name:        "http",
				Description: "Requests a URL and checks the status, body, latency and certificate (like check_http).",
				Schema: append(sdk.Schema{
					{Name: "url", Type: sdk.TypeString, Required: true,
						Description: "http:// or https:// URL to request."},
					{Name: "method", Type: sdk.TypeString, Default: "GET",
						Description: "Request method."},
					{Name: "expect_status", Type: sdk.TypeNumberList, Default: []float64{},
						Description: "Status codes that are OK (anything else is CRITICAL); empty: 2xx and 3xx OK, 4xx WARNING, 5xx CRITICAL."},
					{Name: "body_match", Type: sdk.TypeString,
						Description: "Go regular expression the response body (first MiB) must match, else CRITICAL."},
					{Name: "headers", Type: sdk.TypeStringMap, Default: map[string]string{},
						Description: "Request headers; \"Host\" sets the virtual host."},
					{Name: "follow_redirects", Type: sdk.TypeBool, Default: false,
						Description: "Follow up to 10 redirects and check the final response; otherwise a 3xx is the answer."},
					{Name: "tls_skip_verify", Type: sdk.TypeBool, Default: false,
						Description: "Do not verify the server's certificate chain and name (expiry is still checked)."},
					{Name: "cert_days_warn", Type: sdk.TypeNumber, Default: 30,
						Description: "WARNING when the server certificate expires in fewer days than this (https only)."},
					{Name: "cert_days_crit", Type: sdk.TypeNumber, Default: 7,
						Description: "CRITICAL when the server certificate expires in fewer days than this (https only)."},
				}, latencySchema()...),
				New: newHTTP,
			},
		},
	}
}

// latencySchema is the timeout and latency thresholds every promise of
// the plugin has; a fresh slice on every call.
func latencySchema() sdk.Schema {
	return sdk.Schema{
		{Name: "timeout", Type: sdk.TypeDuration, Default: "10s",
			Description: "Give up (CRITICAL) after this long."},
		{Name: "warn_latency", Type: sdk.TypeDuration,
			Description: "WARNING when the response takes longer than this."},
		{Name: "crit_latency", Type: sdk.TypeDuration,
			Description: "CRITICAL when the response takes longer than this."},
	}
}
