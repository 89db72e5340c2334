package main

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
	"time"

	"github.com/vigilmon/vigil/sdk"
)

// latency is a check's timeout and response-time thresholds (0: unset).
type latency struct {
	timeout, warn, crit time.Duration
}

func newLatency(cfg sdk.Config) (latency, error) {
	var l latency
	var err error
	for _, a := range []struct {
		name string
		dst  *time.Duration
	}{{"timeout", &l.timeout}, {"warn_latency", &l.warn}, {"crit_latency", &l.crit}} {
		if *a.dst, err = cfg.Duration(a.name); err != nil {
			return latency{}, err
		}
		if *a.dst < 0 {
			return latency{}, sdk.AttributeError(a.name, "Negative duration", "%s must be positive", a.name)
		}
	}
	if l.timeout == 0 {
		return latency{}, sdk.AttributeError("timeout", "Missing timeout", "timeout must be a positive duration such as \"10s\"")
	}
	if l.warn > 0 && l.crit > 0 && l.crit < l.warn {
		return latency{}, sdk.AttributeError("crit_latency", "Critical below warning",
			"crit_latency (%s) is shorter than warn_latency (%s); the warning could never show", l.crit, l.warn)
	}
	return l, nil
}

// status grades a response time.
func (l latency) status(d time.Duration) sdk.Status {
	switch {
	case l.crit > 0 && d > l.crit:
		return sdk.Critical
	case l.warn > 0 && d > l.warn:
		return sdk.Warning
	}
	return sdk.OK
}

// perfdata is time=<seconds>s;<warn>;<crit>;0;<timeout>.
func (l latency) perfdata(d time.Duration) sdk.Perfdata {
	zero, limit := 0.0, l.timeout.Seconds()
	p := sdk.Perfdata{Label: "time", Value: d.Seconds(), Unit: "s", Min: &zero, Max: &limit}
	if l.warn > 0 {
		p.Warn = seconds(l.warn)
	}
	if l.crit > 0 {
		p.Crit = seconds(l.crit)
	}
	return p
}

// seconds formats d as a number of seconds, shortest form ("0.5", "10").
func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }

// timeoutMessage is check_http's "Socket timeout after N seconds".
func (l latency) timeoutMessage(prefix string) string {
	return fmt.Sprintf("%s CRITICAL - Socket timeout after %s seconds", prefix, seconds(l.timeout))
}

// worse returns the more severe of two statuses among OK, WARNING and
// CRITICAL.
func worse(a, b sdk.Status) sdk.Status {
	if b > a {
		return b
	}
	return a
}

// connectError describes a failed connection as check_tcp does:
// "connect to address 127.0.0.1 and port 18099: Connection refused".
func connectError(address string, err error) string {
	host, port, splitErr := net.SplitHostPort(address)
	if splitErr != nil {
		host, port = address, "?"
	}
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("connect to address %s and port %s: Connection refused", host, port)
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("Invalid hostname, address or socket: %s (%v)", host, dnsErr.Err)
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return fmt.Sprintf("connect to address %s and port %s: No route to host", host, port)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		err = opErr.Err
	}
	return fmt.Sprintf("connect to address %s and port %s: %v", host, port, err)
}
