package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Output delivers batches of line protocol somewhere.
//
// Write receives whole lines, uncompressed, holding points points. It is
// called from one goroutine per output, must return when ctx is done, and
// must not keep lp after it returns (the buffer is reused). An error is
// retried with backoff unless it is marked with Permanent.
//
// An Output that also implements io.Closer is closed when the pipeline
// closes, after its last Write.
type Output interface {
	Name() string
	Write(ctx context.Context, lp []byte, points int) error
}

// BatchWriter is an Output that wants each batch's id: a unique string
// given when the batch is cut, the same on every retry and, for a spooled
// output, after a restart, so that the receiver can drop replays. The
// pipeline calls WriteBatch instead of Write when an output has it.
type BatchWriter interface {
	WriteBatch(ctx context.Context, id string, lp []byte, points int) error
}

// Permanent marks err as not worth retrying: the same batch would fail the
// same way (the target refused its content). A nil err stays nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether err, or an error it wraps, was marked with
// Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Stdout returns an output that writes each batch to w (the agent passes
// os.Stdout) in one Write call.
func Stdout(w io.Writer) Output { return &stdoutOutput{w} }

type stdoutOutput struct{ w io.Writer }

func (o *stdoutOutput) Name() string { return "stdout" }

func (o *stdoutOutput) Write(_ context.Context, lp []byte, _ int) error {
	if _, err := o.w.Write(lp); err != nil {
		return fmt.Errorf("writing to stdout: %w", err)
	}
	return nil
}

// RetryAfter marks err as retryable no sooner than d from now (a server's
// Retry-After). The pipeline waits at least d, or its own backoff if
// longer, before the next attempt. A nil err stays nil.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryAfterError{err: err, after: d}
}

// RetryAfterOf returns the delay attached to err, or an error it wraps, by
// RetryAfter.
func RetryAfterOf(err error) (time.Duration, bool) {
	var r *retryAfterError
	if errors.As(err, &r) {
		return r.after, true
	}
	return 0, false
}

type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }
