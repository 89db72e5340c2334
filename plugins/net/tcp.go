package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/vigilmon/vigil/sdk"
)

// maxTCPResponse bounds what the tcp check reads while waiting for its
// expect string.
const maxTCPResponse = 64 * 1024

// tcpCheck is the "tcp" promise.
type tcpCheck struct {
	address      string
	host, port   string
	send, expect string
	lat          latency
}

var _ sdk.Checker = (*tcpCheck)(nil)

func newTCP(cfg sdk.Config) (sdk.Checker, error) {
	c := &tcpCheck{address: cfg.String("address"), send: cfg.String("send"), expect: cfg.String("expect")}
	var err error
	if c.host, c.port, err = net.SplitHostPort(c.address); err != nil || c.port == "" {
		return nil, sdk.AttributeError("address", "Invalid address",
			"%q is not host:port, such as \"db.internal:5432\" or \"[::1]:22\"", c.address)
	}
	if c.lat, err = newLatency(cfg); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *tcpCheck) Check(ctx context.Context) (sdk.Result, error) {
	cctx, cancel := context.WithTimeout(ctx, c.lat.timeout)
	defer cancel()
	start := time.Now()
	conn, err := (&net.Dialer{}).DialContext(cctx, "tcp", c.address)
	if err != nil {
		return c.failed(ctx, cctx, err, "")
	}
	defer conn.Close()
	// Unblock reads and writes when the check's time is up or the agent
	// gives up on it.
	stop := context.AfterFunc(cctx, func() { conn.Close() })
	defer stop()
	if d, ok := cctx.Deadline(); ok {
		conn.SetDeadline(d)
	}

	if c.send != "" {
		if _, err := io.WriteString(conn, c.send); err != nil {
			return c.failed(ctx, cctx, fmt.Errorf("sending: %w", err), "")
		}
	}
	var got []byte
	if c.expect != "" {
		var found bool
		got, found, err = readUntil(conn, []byte(c.expect))
		if !found {
			if err != nil && !errors.Is(err, io.EOF) {
				return c.failed(ctx, cctx, fmt.Errorf("receiving: %w", err), string(got))
			}
			elapsed := time.Since(start)
			return sdk.Result{
				Status:   sdk.Critical,
				Message:  "TCP CRITICAL - Unexpected response from host/socket: " + excerpt(got),
				Perfdata: []sdk.Perfdata{c.lat.perfdata(elapsed)},
			}, nil
		}
	}
	elapsed := time.Since(start)
	status := c.lat.status(elapsed)
	return sdk.Result{
		Status:   status,
		Message:  fmt.Sprintf("TCP %s - %.3f second response time on %s port %s", status, elapsed.Seconds(), c.host, c.port),
		Perfdata: []sdk.Perfdata{c.lat.perfdata(elapsed)},
	}, nil
}

// failed turns a connection error into a CRITICAL result, or into an
// error when the agent cancelled the check (parent is done).
func (c *tcpCheck) failed(parent, cctx context.Context, err error, got string) (sdk.Result, error) {
	if parent.Err() != nil {
		return sdk.Result{}, fmt.Errorf("tcp check of %s interrupted: %w", c.address, parent.Err())
	}
	if cctx.Err() != nil || isTimeout(err) {
		r := sdk.Result{Status: sdk.Critical, Message: c.lat.timeoutMessage("TCP")}
		if got != "" {
			r.LongOutput = "received: " + excerpt([]byte(got))
		}
		return r, nil
	}
	return sdk.Result{Status: sdk.Critical, Message: connectError(c.address, err)}, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// readUntil reads from r until want appears, r ends or fails, or
// maxTCPResponse bytes are read. It returns what it read.
func readUntil(r io.Reader, want []byte) ([]byte, bool, error) {
	buf := make([]byte, 0, 4096)
	chunk := make([]byte, 4096)
	for len(buf) < maxTCPResponse {
		n, err := r.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if bytes.Contains(buf, want) {
			return buf, true, nil
		}
		if err != nil {
			return buf, false, err
		}
	}
	return buf, false, nil
}

// excerpt quotes the start of a response for a one-line message.
func excerpt(b []byte) string {
	const max = 80
	s := string(b)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) > max {
		s = s[:max] + "..."
	}
	return fmt.Sprintf("%q", s)
}
