package execpromise

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/vigilmon/vigil/agent/internal/perfdata"
	"github.com/vigilmon/vigil/sdk"
)

// Record is one run of an executable promise (PROMISES.md G.4).
type Record struct {
	Start, End time.Time // UTC
	Duration   time.Duration
	ExitCode   *int       // nil unless the process exited by itself
	Status     sdk.Status // per the G.4 table
	Failed     bool       // Status is CRITICAL or UNKNOWN
	TimedOut   bool
	// Interrupted is set when the run's context was cancelled (the agent is
	// stopping); the record says nothing about the promise's health.
	Interrupted     bool
	OutputTruncated bool   // more than MaxOutputBytes were printed; the rest was discarded
	Output          string // stdout and stderr as printed (bounded, made valid UTF-8)
	Summary         string // first line, without perfdata
	LongOutput      string // following lines, without perfdata
	// Message is what people read: the summary and long output, or an
	// "Error: ..." line followed by them, truncated to MaxMessageChars.
	Message  string
	Perfdata []sdk.Perfdata
	// Warnings names malformed perfdata items that were dropped; they never
	// change the status.
	Warnings []string
	Signal   string // the signal that ended the process ("SIGKILL"), if one did
}

// fill reads res as a record per the G.4 table.
func (r *Record) fill(spec Spec, res outcome) {
	switch {
	case res.startErr != nil:
		r.Status, r.Failed = sdk.Unknown, true
		r.Message = "Error: " + res.startErr.Error()
		return
	case res.state == nil:
		r.Status, r.Failed, r.Interrupted = sdk.Unknown, true, true
		r.Message = "Error: Promise run was interrupted before it started"
		return
	}
	r.TimedOut, r.Interrupted, r.OutputTruncated = res.timedOut, res.interrupted, res.truncated
	r.Output = strings.ToValidUTF8(string(res.output), "\uFFFD")
	out := perfdata.Parse(r.Output)
	r.Summary, r.LongOutput, r.Perfdata = out.Summary, out.LongOutput, out.Perfdata
	for _, err := range out.Errors {
		r.Warnings = append(r.Warnings, err.Error())
	}
	body := out.Summary
	if out.LongOutput != "" {
		body += "\n" + out.LongOutput
	}
	limit := spec.MaxMessageChars

	exitCode := -1
	if ws, ok := res.state.Sys().(syscall.WaitStatus); ok {
		if ws.Exited() {
			exitCode = ws.ExitStatus()
			r.ExitCode = &exitCode
		}
		if ws.Signaled() {
			r.Signal = signalName(ws.Signal())
		}
	}

	switch {
	case res.interrupted:
		r.Status = sdk.Unknown
		r.Message = prefixed("Error: Promise run was interrupted before it finished", body, limit)
	case res.timedOut:
		r.Status = sdk.Critical
		r.Message = prefixed(fmt.Sprintf("Error: Promise timed out after %s seconds", seconds(spec.Timeout)), body, limit)
	case r.Signal != "":
		r.Status = sdk.Unknown
		r.Message = prefixed("Error: terminated by signal "+r.Signal, body, limit)
	case spec.ExitCodes == ExitCodesSlapOS:
		r.Status = sdk.OK
		if exitCode != 0 {
			r.Status = sdk.Critical
		}
		r.Message = keepLast(body, limit)
	default:
		r.Status = sdk.Unknown
		if 0 <= exitCode && exitCode <= 3 {
			r.Status = sdk.Status(exitCode)
		}
		r.Message = keepLast(body, limit)
	}
	r.Failed = r.Status.Failed()
}

// seconds prints d in seconds, as an integer when whole ("2", "0.5").
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

// prefixed puts an error line before body. The error line is always kept
// whole; body is shortened with keepLast to fit the rest of limit.
func prefixed(prefix, body string, limit int) string {
	room := limit - utf8.RuneCountInString(prefix) - 1
	if body == "" || room <= 0 {
		return prefix
	}
	return prefix + "\n" + keepLast(body, room)
}

// keepLast keeps the last limit characters of s, prefixed with "..." when it
// cut something (SlapOS's rule: the end of the output says why it failed).
func keepLast(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	i := len(s)
	for range limit {
		_, size := utf8.DecodeLastRuneInString(s[:i])
		i -= size
	}
	return "..." + s[i:]
}
