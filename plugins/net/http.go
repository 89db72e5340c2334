package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilmon/vigil/sdk"
)

// maxMatchedBody is how much of the body body_match looks at; the rest is
// read and counted, not kept.
const maxMatchedBody = 1 << 20

// httpCheck is the "http" promise.
type httpCheck struct {
	url       string
	address   string // host:port, for connection errors
	method    string
	headers   map[string]string
	expect    []int // OK status codes; empty: by class
	bodyMatch *regexp.Regexp
	lat       latency
	certWarn  int // days
	certCrit  int
	client    *http.Client
	transport *http.Transport // tests set TLSClientConfig.RootCAs
	now       func() time.Time
}

var _ sdk.Checker = (*httpCheck)(nil)

func newHTTP(cfg sdk.Config) (sdk.Checker, error) {
	c := &httpCheck{url: cfg.String("url"), method: strings.ToUpper(cfg.String("method")), headers: cfg.StringMap("headers"), now: time.Now}
	u, err := url.Parse(c.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, sdk.AttributeError("url", "Invalid URL", "%q is not an http:// or https:// URL with a host", c.url)
	}
	c.address = u.Host
	if u.Port() == "" {
		c.address = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	if c.method == "" || strings.ContainsFunc(c.method, func(r rune) bool { return r < 'A' || r > 'Z' }) {
		return nil, sdk.AttributeError("method", "Invalid method", "%q is not an HTTP method such as \"GET\" or \"HEAD\"", cfg.String("method"))
	}
	for k, v := range c.headers {
		if k == "" || strings.ContainsAny(k, " \t\r\n:") || strings.ContainsAny(v, "\r\n") {
			return nil, sdk.Diagnostics{sdk.Errorf([]string{"headers", k}, "Invalid header", "%q: %q is not a valid header line", k, v)}
		}
	}
	for i, f := range cfg.Floats("expect_status") {
		if f != math.Trunc(f) || f < 100 || f > 599 {
			return nil, sdk.Diagnostics{sdk.Errorf([]string{"expect_status", strconv.Itoa(i)}, "Invalid status code", "%v is not an HTTP status code (100 to 599)", f)}
		}
		c.expect = append(c.expect, int(f))
	}
	if expr := cfg.String("body_match"); expr != "" {
		if c.bodyMatch, err = regexp.Compile(expr); err != nil {
			return nil, sdk.AttributeError("body_match", "Invalid regular expression", "%v", err)
		}
	}
	if c.lat, err = newLatency(cfg); err != nil {
		return nil, err
	}
	if c.certWarn, c.certCrit, err = certDays(cfg); err != nil {
		return nil, err
	}
	c.transport = &http.Transport{
		DisableKeepAlives: true, // every check opens its own connection and times it
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: cfg.Bool("tls_skip_verify")},
	}
	c.client = &http.Client{Transport: c.transport}
	if !cfg.Bool("follow_redirects") {
		c.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return c, nil
}

func certDays(cfg sdk.Config) (warn, crit int, err error) {
	w, c := cfg.Float("cert_days_warn"), cfg.Float("cert_days_crit")
	for _, a := range []struct {
		name string
		v    float64
	}{{"cert_days_warn", w}, {"cert_days_crit", c}} {
		if a.v < 0 || a.v != math.Trunc(a.v) {
			return 0, 0, sdk.AttributeError(a.name, "Invalid number of days", "%s must be a whole number of days, 0 or more; got %v", a.name, a.v)
		}
	}
	if c > w {
		return 0, 0, sdk.AttributeError("cert_days_crit", "Critical above warning",
			"cert_days_crit (%v) is more than cert_days_warn (%v); the warning could never show", c, w)
	}
	return int(w), int(c), nil
}

func (c *httpCheck) Check(ctx context.Context) (sdk.Result, error) {
	cctx, cancel := context.WithTimeout(ctx, c.lat.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, c.method, c.url, nil)
	if err != nil {
		return sdk.Result{}, fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("User-Agent", "vigil-net/"+pluginVersion)
	for k, v := range c.headers {
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := c.client.Do(req)
	if err != nil {
		return c.failed(ctx, cctx, err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	n, err := io.Copy(&body, io.LimitReader(resp.Body, maxMatchedBody))
	if err == nil {
		var rest int64
		rest, err = io.Copy(io.Discard, resp.Body)
		n += rest
	}
	if err != nil {
		return c.failed(ctx, cctx, err)
	}
	elapsed := time.Since(start)
	return c.grade(resp, body.Bytes(), n, elapsed), nil
}

// grade turns a complete response into a result: the worst of the status
// code, the body match, the latency and the certificate.
func (c *httpCheck) grade(resp *http.Response, body []byte, size int64, elapsed time.Duration) sdk.Result {
	status := c.codeStatus(resp.StatusCode)
	var notes []string
	if len(c.expect) > 0 && status != sdk.OK {
		notes = append(notes, "unexpected status code")
	}
	if c.bodyMatch != nil && !c.bodyMatch.Match(body) {
		status = sdk.Critical
		notes = append(notes, "pattern not found")
	}
	status = worse(status, c.lat.status(elapsed))
	zero := 0.0
	perf := []sdk.Perfdata{c.lat.perfdata(elapsed), {Label: "size", Value: float64(size), Unit: "B", Min: &zero}}
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		leaf := resp.TLS.PeerCertificates[0]
		days := int(math.Floor(leaf.NotAfter.Sub(c.now()).Hours() / 24))
		cs := sdk.OK
		switch {
		case days < c.certCrit:
			cs = sdk.Critical
		case days < c.certWarn:
			cs = sdk.Warning
		}
		if cs != sdk.OK {
			notes = append(notes, certNote(leaf, days))
		}
		status = worse(status, cs)
		perf = append(perf, sdk.Perfdata{Label: "cert_days", Value: float64(days),
			Warn: strconv.Itoa(c.certWarn) + ":", Crit: strconv.Itoa(c.certCrit) + ":"})
	}
	msg := fmt.Sprintf("HTTP %s: %s %s - %d bytes in %.3f second response time", status, resp.Proto, resp.Status, size, elapsed.Seconds())
	for _, n := range notes {
		msg += " - " + n
	}
	return sdk.Result{Status: status, Message: msg, Perfdata: perf}
}

// codeStatus grades a status code: against expect_status when set, else
// as check_http does (2xx and 3xx OK, 4xx WARNING, others CRITICAL).
func (c *httpCheck) codeStatus(code int) sdk.Status {
	if len(c.expect) > 0 {
		if slices.Contains(c.expect, code) {
			return sdk.OK
		}
		return sdk.Critical
	}
	switch {
	case code >= 200 && code < 400:
		return sdk.OK
	case code >= 400 && code < 500:
		return sdk.Warning
	}
	return sdk.Critical
}

func certNote(leaf *x509.Certificate, days int) string {
	name := leaf.Subject.CommonName
	if name == "" && len(leaf.DNSNames) > 0 {
		name = leaf.DNSNames[0]
	}
	when := leaf.NotAfter.UTC().Format("2006-01-02 15:04 MST")
	if days < 0 {
		return fmt.Sprintf("certificate '%s' expired on %s", name, when)
	}
	return fmt.Sprintf("certificate '%s' expires in %d day(s) (%s)", name, days, when)
}

// failed turns a request error into a CRITICAL result, or into an error
// when the agent cancelled the check (parent is done).
func (c *httpCheck) failed(parent, cctx context.Context, err error) (sdk.Result, error) {
	if parent.Err() != nil {
		return sdk.Result{}, fmt.Errorf("http check of %s interrupted: %w", c.url, parent.Err())
	}
	if cctx.Err() != nil || isTimeout(err) {
		return sdk.Result{Status: sdk.Critical, Message: c.lat.timeoutMessage("HTTP")}, nil
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return sdk.Result{Status: sdk.Critical, Message: "HTTP CRITICAL - " + connectError(c.address, err)}, nil
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return sdk.Result{Status: sdk.Critical, Message: "HTTP CRITICAL - " + connectError(c.address, err)}, nil
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	return sdk.Result{Status: sdk.Critical, Message: "HTTP CRITICAL - " + err.Error()}, nil
}
