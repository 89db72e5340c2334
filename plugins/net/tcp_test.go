package main

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilmon/vigil/sdk"
)

// tcpServer serves each connection with handle until the test ends.
func tcpServer(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() { l.Close(); wg.Wait() })
	return l.Addr().String()
}

// banner greets with "+OK vigil ready" after delay.
func banner(delay time.Duration) func(net.Conn) {
	return func(c net.Conn) {
		time.Sleep(delay)
		c.Write([]byte("+OK vigil ready\r\n"))
	}
}

// pingPong answers "PONG" to a "PING" line.
func pingPong(c net.Conn) {
	line, err := bufio.NewReader(c).ReadString('\n')
	if err == nil && strings.TrimSpace(line) == "PING" {
		c.Write([]byte("PONG\n"))
	}
}

func TestTCP(t *testing.T) {
	quiet := tcpServer(t, func(net.Conn) {})
	greeter := tcpServer(t, banner(0))
	slowGreeter := tcpServer(t, banner(200*time.Millisecond))
	pinger := tcpServer(t, pingPong)
	silent := silentListener(t)
	closed := closedPort(t)
	port := func(addr string) string { _, p, _ := net.SplitHostPort(addr); return p }

	tests := []struct {
		name   string
		values map[string]any
		want   sdk.Result
	}{
		{"connect", map[string]any{"address": quiet}, sdk.Result{
			Status: sdk.OK, Message: "TCP OK - T second response time on 127.0.0.1 port " + port(quiet),
			Perfdata: []sdk.Perfdata{timePerf("", "", 10)}}},
		{"expect banner", map[string]any{"address": greeter, "expect": "+OK"}, sdk.Result{
			Status: sdk.OK, Message: "TCP OK - T second response time on 127.0.0.1 port " + port(greeter),
			Perfdata: []sdk.Perfdata{timePerf("", "", 10)}}},
		{"send and expect", map[string]any{"address": pinger, "send": "PING\n", "expect": "PONG"}, sdk.Result{
			Status: sdk.OK, Message: "TCP OK - T second response time on 127.0.0.1 port " + port(pinger),
			Perfdata: []sdk.Perfdata{timePerf("", "", 10)}}},
		{"unexpected answer", map[string]any{"address": greeter, "expect": "220 "}, sdk.Result{
			Status: sdk.Critical, Message: `TCP CRITICAL - Unexpected response from host/socket: "+OK vigil ready"`,
			Perfdata: []sdk.Perfdata{timePerf("", "", 10)}}},
		{"no answer", map[string]any{"address": silent, "expect": "+OK", "timeout": "100ms"}, sdk.Result{
			Status: sdk.Critical, Message: "TCP CRITICAL - Socket timeout after 0.1 seconds"}},
		{"refused", map[string]any{"address": closed}, sdk.Result{
			Status: sdk.Critical, Message: "connect to address 127.0.0.1 and port " + port(closed) + ": Connection refused"}},
		// The greeter waits 200ms: far above 1ms, far below 1h.
		{"slow warning", map[string]any{"address": slowGreeter, "expect": "+OK", "warn_latency": "1ms", "crit_latency": "1h"}, sdk.Result{
			Status: sdk.Warning, Message: "TCP WARNING - T second response time on 127.0.0.1 port " + port(slowGreeter),
			Perfdata: []sdk.Perfdata{timePerf("0.001", "3600", 10)}}},
		{"slow critical", map[string]any{"address": slowGreeter, "expect": "+OK", "warn_latency": "1ms", "crit_latency": "2ms"}, sdk.Result{
			Status: sdk.Critical, Message: "TCP CRITICAL - T second response time on 127.0.0.1 port " + port(slowGreeter),
			Perfdata: []sdk.Perfdata{timePerf("0.001", "0.002", 10)}}},
		{"fast enough", map[string]any{"address": greeter, "expect": "+OK", "warn_latency": "1h", "timeout": "2h"}, sdk.Result{
			Status: sdk.OK, Message: "TCP OK - T second response time on 127.0.0.1 port " + port(greeter),
			Perfdata: []sdk.Perfdata{timePerf("3600", "", 7200)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mustPromise(t, "tcp", tt.values).Check(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			diffResult(t, tt.want, got)
		})
	}
}

func TestTCPCancelled(t *testing.T) {
	silent := silentListener(t)
	c := mustPromise(t, "tcp", map[string]any{"address": silent, "expect": "x"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := c.Check(ctx); done <- err }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Check = %v, want context.Canceled", err)
	}
}

func TestTCPConfigErrors(t *testing.T) {
	tests := []struct {
		name   string
		values map[string]any
		path   string
	}{
		{"missing address", map[string]any{}, "address"},
		{"no port", map[string]any{"address": "example.com"}, "address"},
		{"bad timeout", map[string]any{"address": "a:1", "timeout": "soon"}, "timeout"},
		{"zero timeout", map[string]any{"address": "a:1", "timeout": "0s"}, "timeout"},
		{"negative warn", map[string]any{"address": "a:1", "warn_latency": "-1s"}, "warn_latency"},
		{"crit below warn", map[string]any{"address": "a:1", "warn_latency": "2s", "crit_latency": "1s"}, "crit_latency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newPromise(t, "tcp", tt.values)
			assertAttrError(t, err, tt.path)
		})
	}
}
