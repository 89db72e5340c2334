package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigilmon/vigil/sdk"
)

// testMux serves the paths the http tests request.
func testMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.Error(w, "no such page", http.StatusNotFound)
			return
		}
		w.Write([]byte("hello world"))
	})
	mux.HandleFunc("GET /boom", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	mux.HandleFunc("GET /old", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/", http.StatusMovedPermanently)
	})
	mux.HandleFunc("POST /created", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte("made"))
	})
	mux.HandleFunc("GET /echo", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(r.Host + " " + r.Header.Get("X-Probe") + " " + r.UserAgent()))
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(200 * time.Millisecond)
		w.Write([]byte("late"))
	})
	mux.HandleFunc("GET /hang", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	return mux
}

func sizePerf(n float64) sdk.Perfdata {
	return sdk.Perfdata{Label: "size", Value: n, Unit: "B", Min: f64(0)}
}

func TestHTTP(t *testing.T) {
	srv := httptest.NewServer(testMux())
	t.Cleanup(srv.Close)
	silent := silentListener(t)
	closed := closedPort(t)
	_, closedPortNum, _ := net.SplitHostPort(closed)
	plain := []sdk.Perfdata{timePerf("", "", 10)}

	tests := []struct {
		name   string
		values map[string]any
		want   sdk.Result
	}{
		{"ok", map[string]any{"url": srv.URL + "/"}, sdk.Result{
			Status: sdk.OK, Message: "HTTP OK: HTTP/1.1 200 OK - 11 bytes in T second response time",
			Perfdata: append(plain, sizePerf(11))}},
		{"not found warns", map[string]any{"url": srv.URL + "/nope"}, sdk.Result{
			Status: sdk.Warning, Message: "HTTP WARNING: HTTP/1.1 404 Not Found - 13 bytes in T second response time",
			Perfdata: append(plain, sizePerf(13))}},
		{"server error", map[string]any{"url": srv.URL + "/boom"}, sdk.Result{
			Status: sdk.Critical, Message: "HTTP CRITICAL: HTTP/1.1 500 Internal Server Error - 5 bytes in T second response time",
			Perfdata: append(plain, sizePerf(5))}},
		{"redirect is an answer", map[string]any{"url": srv.URL + "/old"}, sdk.Result{
			Status: sdk.OK, Message: "HTTP OK: HTTP/1.1 301 Moved Permanently - 36 bytes in T second response time",
			Perfdata: append(plain, sizePerf(36))}},
		{"follow redirects", map[string]any{"url": srv.URL + "/old", "follow_redirects": true}, sdk.Result{
			Status: sdk.OK, Message: "HTTP OK: HTTP/1.1 200 OK - 11 bytes in T second response time",
			Perfdata: append(plain, sizePerf(11))}},
		{"expected status", map[string]any{"url": srv.URL + "/created", "method": "post", "expect_status": []float64{201}}, sdk.Result{
			Status: sdk.OK, Message: "HTTP OK: HTTP/1.1 201 Created - 4 bytes in T second response time",
			Perfdata: append(plain, sizePerf(4))}},
		{"expected 404", map[string]any{"url": srv.URL + "/nope", "expect_status": []float64{404, 410}}, sdk.Result{
			Status: sdk.OK, Message: "HTTP OK: HTTP/1.1 404 Not Found - 13 bytes in T second response time",
			Perfdata: append(plain, sizePerf(13))}},
		{"unexpected status", map[string]any{"url": srv.URL + "/", "expect_status": []float64{204}}, sdk.Result{
			Status: sdk.Critical, Message: "HTTP CRITICAL: HTTP/1.1 200 OK - 11 bytes in T second response time - unexpected status code",
			Perfdata: append(plain, sizePerf(11))}},
		{"body matches", map[string]any{"url": srv.URL + "/", "body_match": "^hello w.rld$"}, sdk.Result{
			Status: sdk.OK, Message: "HTTP OK: HTTP/1.1 200 OK - 11 bytes in T second response time",
			Perfdata: append(plain, sizePerf(11))}},
		{"body does not match", map[string]any{"url": srv.URL + "/", "body_match": "goodbye"}, sdk.Result{
			Status: sdk.Critical, Message: "HTTP CRITICAL: HTTP/1.1 200 OK - 11 bytes in T second response time - pattern not found",
			Perfdata: append(plain, sizePerf(11))}},
		{"headers and virtual host", map[string]any{"url": srv.URL + "/echo", "headers": map[string]string{"Host": "www.example.net", "X-Probe": "42"},
			"body_match": "^www.example.net 42 vigil-net/0.1.0$"}, sdk.Result{
			Status: sdk.OK, Message: "HTTP OK: HTTP/1.1 200 OK - 34 bytes in T second response time",
			Perfdata: append(plain, sizePerf(34))}},
		// /slow takes 200ms: far above 1ms, far below 1h.
		{"slow warning", map[string]any{"url": srv.URL + "/slow", "warn_latency": "1ms", "crit_latency": "1h"}, sdk.Result{
			Status: sdk.Warning, Message: "HTTP WARNING: HTTP/1.1 200 OK - 4 bytes in T second response time",
			Perfdata: []sdk.Perfdata{timePerf("0.001", "3600", 10), sizePerf(4)}}},
		{"slow critical", map[string]any{"url": srv.URL + "/slow", "warn_latency": "1ms", "crit_latency": "2ms"}, sdk.Result{
			Status: sdk.Critical, Message: "HTTP CRITICAL: HTTP/1.1 200 OK - 4 bytes in T second response time",
			Perfdata: []sdk.Perfdata{timePerf("0.001", "0.002", 10), sizePerf(4)}}},
		{"fast enough", map[string]any{"url": srv.URL + "/", "warn_latency": "1h", "crit_latency": "2h", "timeout": "3h"}, sdk.Result{
			Status: sdk.OK, Message: "HTTP OK: HTTP/1.1 200 OK - 11 bytes in T second response time",
			Perfdata: []sdk.Perfdata{timePerf("3600", "7200", 10800), sizePerf(11)}}},
		{"handler hangs", map[string]any{"url": srv.URL + "/hang", "timeout": "100ms"}, sdk.Result{
			Status: sdk.Critical, Message: "HTTP CRITICAL - Socket timeout after 0.1 seconds"}},
		{"server never answers", map[string]any{"url": "http://" + silent + "/", "timeout": "100ms"}, sdk.Result{
			Status: sdk.Critical, Message: "HTTP CRITICAL - Socket timeout after 0.1 seconds"}},
		{"refused", map[string]any{"url": "http://" + closed + "/"}, sdk.Result{
			Status: sdk.Critical, Message: "HTTP CRITICAL - connect to address 127.0.0.1 and port " + closedPortNum + ": Connection refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mustPromise(t, "http", tt.values).Check(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			diffResult(t, tt.want, got)
		})
	}
}

// daysLeft is how the check counts a certificate's days.
func daysLeft(notAfter time.Time) int {
	return int(math.Floor(time.Until(notAfter).Hours() / 24))
}

func certPerf(days int, warn, crit string) sdk.Perfdata {
	return sdk.Perfdata{Label: "cert_days", Value: float64(days), Warn: warn, Crit: crit}
}

// trusting returns the http check for values, trusting cert.
func trusting(t *testing.T, values map[string]any, cert *x509.Certificate) sdk.Checker {
	t.Helper()
	c := mustPromise(t, "http", values)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	c.(*httpCheck).transport.TLSClientConfig.RootCAs = pool
	return c
}

func TestHTTPSTestCertificate(t *testing.T) {
	srv := httptest.NewTLSServer(testMux())
	t.Cleanup(srv.Close)
	cert := srv.Certificate()
	before := daysLeft(cert.NotAfter)
	got, err := trusting(t, map[string]any{"url": srv.URL + "/"}, cert).Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	days := daysLeft(cert.NotAfter)
	if len(got.Perfdata) == 3 && got.Perfdata[2].Value == float64(before) {
		days = before // a day boundary passed during the check
	}
	diffResult(t, sdk.Result{
		Status:   sdk.OK,
		Message:  "HTTP OK: HTTP/1.1 200 OK - 11 bytes in T second response time",
		Perfdata: []sdk.Perfdata{timePerf("", "", 10), sizePerf(11), certPerf(days, "30:", "7:")},
	}, got)
}

// shortLivedServer serves testMux over TLS with a fresh self-signed
// certificate for 127.0.0.1 that expires at notAfter.
func shortLivedServer(t *testing.T, notAfter time.Time) (*httptest.Server, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "vigil.test"},
		NotBefore:             time.Now().Add(-30 * 24 * time.Hour),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(testMux())
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, cert
}

func TestHTTPSCertificateExpiry(t *testing.T) {
	// Half a day past a whole number of days, so the count cannot change
	// while the test runs.
	inDays := func(d int) time.Time { return time.Now().Add(time.Duration(d)*24*time.Hour + 12*time.Hour) }
	tests := []struct {
		name     string
		notAfter time.Time
		values   map[string]any
		skip     bool // tls_skip_verify (an expired certificate does not verify)
		status   sdk.Status
		days     int
		note     string
	}{
		{"far", inDays(90), nil, false, sdk.OK, 90, ""},
		{"warn", inDays(10), nil, false, sdk.Warning, 10, "certificate 'vigil.test' expires in 10 day(s)"},
		{"crit", inDays(3), nil, false, sdk.Critical, 3, "certificate 'vigil.test' expires in 3 day(s)"},
		{"own thresholds", inDays(10), map[string]any{"cert_days_warn": 15, "cert_days_crit": 11}, false, sdk.Critical, 10, "certificate 'vigil.test' expires in 10 day(s)"},
		{"expired", inDays(-3), nil, true, sdk.Critical, -3, "certificate 'vigil.test' expired on"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, cert := shortLivedServer(t, tt.notAfter)
			values := map[string]any{"url": srv.URL + "/", "tls_skip_verify": tt.skip}
			for k, v := range tt.values {
				values[k] = v
			}
			got, err := trusting(t, values, cert).Check(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			warn, crit := "30:", "7:"
			if tt.values != nil {
				warn, crit = "15:", "11:"
			}
			msg := "HTTP " + tt.status.String() + ": HTTP/1.1 200 OK - 11 bytes in T second response time"
			if tt.note != "" {
				when := cert.NotAfter.UTC().Format("2006-01-02 15:04 MST")
				if tt.days < 0 {
					msg += " - " + tt.note + " " + when
				} else {
					msg += " - " + tt.note + " (" + when + ")"
				}
			}
			diffResult(t, sdk.Result{
				Status:   tt.status,
				Message:  msg,
				Perfdata: []sdk.Perfdata{timePerf("", "", 10), sizePerf(11), certPerf(tt.days, warn, crit)},
			}, got)
		})
	}
}

func TestHTTPSUntrusted(t *testing.T) {
	srv := httptest.NewUnstartedServer(testMux())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	got, err := mustPromise(t, "http", map[string]any{"url": srv.URL + "/"}).Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != sdk.Critical || !strings.Contains(got.Message, "certificate") {
		t.Errorf("untrusted certificate: %v %q, want CRITICAL about the certificate", got.Status, got.Message)
	}
	got, err = mustPromise(t, "http", map[string]any{"url": srv.URL + "/", "tls_skip_verify": true}).Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != sdk.OK {
		t.Errorf("tls_skip_verify: %v %q, want OK", got.Status, got.Message)
	}
}

func TestHTTPCancelled(t *testing.T) {
	srv := httptest.NewServer(testMux())
	t.Cleanup(srv.Close)
	c := mustPromise(t, "http", map[string]any{"url": srv.URL + "/hang"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := c.Check(ctx); done <- err }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Check = %v, want context.Canceled", err)
	}
}

func TestHTTPConfigErrors(t *testing.T) {
	tests := []struct {
		name   string
		values map[string]any
		path   string
	}{
		{"missing url", map[string]any{}, "url"},
		{"not http", map[string]any{"url": "ftp://example.net/"}, "url"},
		{"no host", map[string]any{"url": "http:///x"}, "url"},
		{"bad method", map[string]any{"url": "http://a/", "method": "GET /"}, "method"},
		{"bad status", map[string]any{"url": "http://a/", "expect_status": []float64{200, 99}}, "expect_status"},
		{"fractional status", map[string]any{"url": "http://a/", "expect_status": []float64{200.5}}, "expect_status"},
		{"bad regexp", map[string]any{"url": "http://a/", "body_match": "(("}, "body_match"},
		{"bad header", map[string]any{"url": "http://a/", "headers": map[string]string{"X Bad": "1"}}, "headers"},
		{"bad timeout", map[string]any{"url": "http://a/", "timeout": "forever"}, "timeout"},
		{"negative cert days", map[string]any{"url": "http://a/", "cert_days_warn": -1}, "cert_days_warn"},
		{"crit above warn", map[string]any{"url": "http://a/", "cert_days_warn": 5, "cert_days_crit": 10}, "cert_days_crit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newPromise(t, "http", tt.values)
			assertAttrError(t, err, tt.path)
		})
	}
	if d := sdk.AsDiagnostics(func() error {
		_, err := newPromise(t, "http", map[string]any{"url": "http://a/", "expect_status": []float64{200, 99}})
		return err
	}()); len(d) != 1 || strconv.Itoa(1) != d[0].Path[1] {
		t.Errorf("diagnostics = %+v, want one at expect_status.1", d)
	}
}
