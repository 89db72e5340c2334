package ingest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// dialect is the protocol a request speaks: it decides how credentials and
// precision are read and how errors are shaped.
type dialect uint8

const (
	vigilAPI dialect = iota // POST /v1/write and /v1/nodes: {"error": ...}
	influxV1                // POST /write, /query: InfluxDB 1.x, {"error": ...}
	influxV2                // POST /api/v2/write: InfluxDB 2.x, {"code": ..., "message": ...}
)

// InfluxVersion is what /ping and the InfluxDB-compatible endpoints give as
// X-Influxdb-Version: clients that probe it see a 1.8-compatible server.
const InfluxVersion = "1.8.10-vigil"

// precision parses the precision query parameter as d documents it and
// returns nanoseconds per timestamp unit.
func (d dialect) precision(s string) (int64, error) {
	switch {
	case s == "" || s == "ns", s == "n" && d != influxV2:
		return 1, nil
	case s == "us", s == "u" && d != influxV2:
		return 1e3, nil
	case s == "ms":
		return 1e6, nil
	case s == "s":
		return 1e9, nil
	case s == "m" && d == influxV1:
		return 60e9, nil
	case s == "h" && d == influxV1:
		return 3600e9, nil
	}
	want := map[dialect]string{
		vigilAPI: "ns (default), u or us, ms or s",
		influxV1: "n or ns (default), u or us, ms, s, m or h",
		influxV2: "ns (default), us, ms or s",
	}[d]
	return 0, fmt.Errorf("unknown precision %q: want %s", s, want)
}

// unitName names a precision for messages.
func unitName(unit int64) string {
	switch unit {
	case 1:
		return "ns"
	case 1e3:
		return "us"
	case 1e6:
		return "ms"
	case 1e9:
		return "s"
	case 60e9:
		return "m"
	case 3600e9:
		return "h"
	}
	return strconv.FormatInt(unit, 10) + "ns"
}

// httpError is an answer other than success: its status, a message a
// person can act on, and for a partial write the rejected lines.
type httpError struct {
	status     int
	msg        string
	retryAfter time.Duration // > 0: sent as Retry-After
	details    []string      // every problem, when there are several
	partial    *partialWrite
}

func (e *httpError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) *httpError {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

// partialWrite is what a 400 for rejected lines adds to the error.
type partialWrite struct {
	lines    []lineError
	stored   int
	rejected int
}

// errorBody is the JSON of an error in every dialect: Vigil and InfluxDB 1.x
// use "error", InfluxDB 2.x "code" and "message" (and "line" for the first
// bad line); a partial write adds "lines", "stored" and "rejected".
type errorBody struct {
	Code     string      `json:"code,omitempty"`
	Message  string      `json:"message,omitempty"`
	Error    string      `json:"error,omitempty"`
	Line     int         `json:"line,omitempty"`
	Details  []string    `json:"details,omitempty"`
	Lines    []lineError `json:"lines,omitempty"`
	Stored   *int        `json:"stored,omitempty"`
	Rejected *int        `json:"rejected,omitempty"`
}

// writeError answers e in d's shape.
func (d dialect) writeError(w http.ResponseWriter, e *httpError) {
	var b errorBody
	if d == influxV2 {
		b.Code, b.Message = influxV2Code(e.status), e.msg
	} else {
		b.Error = e.msg
	}
	b.Details = e.details
	if p := e.partial; p != nil {
		b.Lines, b.Stored, b.Rejected = p.lines, &p.stored, &p.rejected
		if d == influxV2 && len(p.lines) > 0 {
			b.Line = p.lines[0].Line
		}
	}
	if e.status == http.StatusUnauthorized {
		switch d {
		case vigilAPI:
			w.Header().Set("WWW-Authenticate", `Bearer realm="vigil-registry"`)
		case influxV1:
			w.Header().Set("WWW-Authenticate", `Basic realm="InfluxDB"`)
		case influxV2:
			w.Header().Set("WWW-Authenticate", `Token realm="vigil-registry"`)
		}
	}
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.retryAfter+time.Second-1)/time.Second)))
	}
	writeJSON(w, e.status, b)
}

// influxV2Code is InfluxDB 2's error code for an HTTP status.
func influxV2Code(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "invalid"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not found"
	case http.StatusRequestEntityTooLarge:
		return "request too large"
	case http.StatusUnsupportedMediaType:
		return "unsupported media type"
	case http.StatusTooManyRequests:
		return "too many requests"
	case http.StatusServiceUnavailable:
		return "unavailable"
	}
	return "internal error"
}

// influxHeaders marks a response as from an InfluxDB-compatible server.
func influxHeaders(w http.ResponseWriter, version string) {
	h := w.Header()
	h.Set("X-Influxdb-Version", InfluxVersion)
	h.Set("X-Influxdb-Build", "OSS")
	h.Set("Vigil-Registry", version)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away: nothing to tell it
}

// partialMessage is the "error" of a write with rejected lines.
func partialMessage(d *decoded) string {
	return fmt.Sprintf("partial write: %d of %d lines rejected; first: %s",
		d.rejected, d.lines, strings.TrimSpace(d.firstError().String()))
}
