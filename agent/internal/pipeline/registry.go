package pipeline

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	// klauspost's gzip: the same format and API as compress/gzip, twice
	// as fast at level 1, and its output inflates ~20% faster at the
	// registry (and InfluxDB) — which gunzips every agent's batches.
	"github.com/klauspost/compress/gzip"
)

// RegistryConfig configures the registry output.
type RegistryConfig struct {
	URL     string        // the registry's base URL; batches go to <URL>/v1/write
	Token   string        // the agent token, sent as a bearer token
	Gzip    bool          // compress bodies (gzip level 1)
	Timeout time.Duration // per request; default 10s
	// Client sends the requests; default: a client of its own. Timeout
	// applies through the request's context either way.
	Client    *http.Client
	UserAgent string       // default "vigil-agent"; the agent adds its version
	Logger    hclog.Logger // may be nil
}

// RegistryOutput posts batches to a Vigil registry's POST /v1/write, each
// with its batch id (header Vigil-Batch-Id) so that the registry drops
// replays. It is meant to run behind a spool (Spooled): it says which
// failures are worth retrying, the spool makes retries lossless.
//
// Answers: 2xx is stored (with Vigil-Batch-Replay: true when the registry
// had it already). 400 (some lines bad, the good ones stored) and 413 are
// Permanent, with the registry's answer in a *RejectedError. 401 and 403
// mean the token is wrong, not the data: retried, and logged as an error
// that says to fix the token. 429 and 503 are retried no sooner than their
// Retry-After (see RetryAfter); other 5xx, 3xx, network errors and
// timeouts are retried; any other 4xx is Permanent.
type RegistryOutput struct {
	writeURL    string
	cfg         RegistryConfig
	client      *http.Client
	ownClient   bool
	log         hclog.Logger
	authFailing atomic.Bool // logged once until a write succeeds
	urlFailing  atomic.Bool // the URL answered 404/405: logged once per streak
}

var (
	_ Output      = (*RegistryOutput)(nil)
	_ BatchWriter = (*RegistryOutput)(nil)
	_ io.Closer   = (*RegistryOutput)(nil)
)

// Registry returns the registry output for cfg. Nothing is contacted until
// a write.
func Registry(cfg RegistryConfig) (*RegistryOutput, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("registry output: invalid url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("registry output: url %q must be http:// or https:// with a host", cfg.URL)
	}
	if cfg.Token == "" {
		return nil, errors.New("registry output: a token is required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "vigil-agent"
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/write"
	u.RawQuery, u.Fragment = "", ""
	o := &RegistryOutput{writeURL: u.String(), cfg: cfg, client: cfg.Client, log: cfg.Logger}
	if o.client == nil {
		o.client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		o.ownClient = true
	}
	return o, nil
}

// Name is "registry".
func (o *RegistryOutput) Name() string { return "registry" }

// Write sends lp under a new random batch id. The pipeline calls
// WriteBatch instead, so that retries keep the batch's id.
func (o *RegistryOutput) Write(ctx context.Context, lp []byte, points int) error {
	var id [16]byte
	_, _ = rand.Read(id[:])
	return o.WriteBatch(ctx, hex.EncodeToString(id[:]), lp, points)
}

// gzipWriters recycles level-1 gzip writers (each holds ~1 MiB of state).
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // a valid level: no error
	return zw
}}

// WriteBatch posts lp as batch id.
func (o *RegistryOutput) WriteBatch(ctx context.Context, id string, lp []byte, points int) error {
	body, err := o.body(lp)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.writeURL, bytes.NewReader(body))
	if err != nil {
		return Permanent(fmt.Errorf("building the registry request: %w", err))
	}
	req.Header.Set("Authorization", "Bearer "+o.cfg.Token)
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	req.Header.Set("User-Agent", o.cfg.UserAgent)
	req.Header.Set("Vigil-Batch-Id", id)
	if o.cfg.Gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := o.client.Do(req)
	if err != nil {
		return fmt.Errorf("writing to the registry: %w", err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	return o.outcome(resp, reply, id, points)
}

// body returns a new buffer for the request: the transport may still read
// a body after Do returns, so neither lp nor a reused buffer may be sent.
func (o *RegistryOutput) body(lp []byte) ([]byte, error) {
	if !o.cfg.Gzip {
		return bytes.Clone(lp), nil
	}
	buf := bytes.NewBuffer(make([]byte, 0, len(lp)/4+512))
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(buf)
	if _, err := zw.Write(lp); err != nil {
		return nil, fmt.Errorf("compressing batch: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compressing batch: %w", err)
	}
	return buf.Bytes(), nil
}

// outcome maps the registry's answer to an error the pipeline acts on.
func (o *RegistryOutput) outcome(resp *http.Response, reply []byte, id string, points int) error {
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		if o.authFailing.Swap(false) {
			o.log.Info("the registry accepts the agent token again")
		}
		if o.urlFailing.Swap(false) {
			o.log.Info("the registry URL answers /v1/write again")
		}
		if resp.Header.Get("Vigil-Batch-Replay") == "true" {
			o.log.Debug("the registry already had this batch", "batch", id, "points", points)
		}
		return nil
	}
	msg := replyMessage(reply)
	switch {
	case code == http.StatusBadRequest:
		rej := &RejectedError{Status: resp.Status, Body: reply}
		_ = json.Unmarshal(reply, &rej.reply)
		for i, l := range rej.reply.Lines {
			if i == 3 {
				o.log.Warn("the registry rejected more lines", "batch", id, "lines", len(rej.reply.Lines)-i)
				break
			}
			o.log.Warn("the registry rejected a line", "batch", id, "line", fmt.Sprintf("%d:%d", l.Line, l.Column), "error", l.Error)
		}
		return Permanent(rej)
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		err := fmt.Errorf("the registry refused the agent token (%s): %s; fix token in the registry block of agent.hcl", resp.Status, msg)
		if !o.authFailing.Swap(true) {
			o.log.Error("the registry refuses the agent token: batches are kept and retried until the token is fixed", "error", err)
		}
		return err
	case code == http.StatusNotFound || code == http.StatusMethodNotAllowed:
		// Not the batch's fault: the URL does not lead to a registry's
		// /v1/write (a wrong path, a proxy, an old registry). Kept and
		// retried like a down registry, never quarantined.
		err := fmt.Errorf("writing to the registry: %s from %s: %s; check url in the registry block of agent.hcl", resp.Status, o.writeURL, msg)
		if !o.urlFailing.Swap(true) {
			o.log.Error("the registry URL does not answer /v1/write: batches are kept and retried until it does", "error", err)
		}
		return err
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		err := fmt.Errorf("writing to the registry: %s: %s", resp.Status, msg)
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return RetryAfter(err, d)
		}
		return err
	case code >= 500 || code < 400:
		return fmt.Errorf("writing to the registry: %s: %s", resp.Status, msg)
	default:
		return Permanent(&RejectedError{Status: resp.Status, Body: reply, reply: rejectReply{Error: msg}})
	}
}

// RejectedError is a registry's refusal of a batch's content (400, 413 or
// another 4xx): Permanent, so a spooled output quarantines the batch with
// it. On a 400 the registry stored the good lines.
type RejectedError struct {
	Status string // e.g. "400 Bad Request"
	Body   []byte // the answer, up to 64 KiB
	reply  rejectReply
}

// rejectReply is the registry's JSON answer to a partly bad batch.
type rejectReply struct {
	Error string `json:"error"`
	Lines []struct {
		Line   int    `json:"line"`
		Column int    `json:"column"`
		Error  string `json:"error"`
	} `json:"lines"`
	Stored   int `json:"stored"`
	Rejected int `json:"rejected"`
}

func (e *RejectedError) Error() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "the registry refused the batch (%s)", e.Status)
	r := e.reply
	if r.Error == "" && len(r.Lines) == 0 {
		fmt.Fprintf(&sb, ": %s", replyMessage(e.Body))
		return sb.String()
	}
	if r.Error != "" {
		fmt.Fprintf(&sb, ": %s", r.Error)
	}
	if r.Stored > 0 || r.Rejected > 0 {
		fmt.Fprintf(&sb, " (%d lines stored, %d rejected)", r.Stored, r.Rejected)
	}
	for i, l := range r.Lines {
		if i == 3 {
			fmt.Fprintf(&sb, "; and %d more", len(r.Lines)-i)
			break
		}
		fmt.Fprintf(&sb, "; line %d:%d: %s", l.Line, l.Column, l.Error)
	}
	return sb.String()
}

// replyMessage is the "error" of a JSON answer, or the start of the body.
func replyMessage(reply []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(reply, &e) == nil && e.Error != "" {
		return e.Error
	}
	s := strings.TrimSpace(string(reply))
	if len(s) > 512 {
		s = s[:512] + "..."
	}
	if s == "" {
		return "no message"
	}
	return s
}

// maxRetryAfter caps a server's Retry-After.
const maxRetryAfter = time.Hour

// parseRetryAfter reads a Retry-After header: delay-seconds or an
// HTTP-date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseUint(v, 10, 32); err == nil {
		return min(time.Duration(secs)*time.Second, maxRetryAfter), true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return min(max(t.Sub(now), 0), maxRetryAfter), true
}

// Close releases idle connections of the output's own client.
func (o *RegistryOutput) Close() error {
	if o.ownClient {
		o.client.CloseIdleConnections()
	}
	return nil
}
