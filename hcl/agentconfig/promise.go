package agentconfig

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Defaults of promises.
const (
	DefaultExecTimeout   = 20 * time.Second
	DefaultResultCount   = 3
	DefaultFailureAmount = 3
)

// Exit code conventions of executable promises.
const (
	// ExitCodesNagios maps 0, 1, 2, 3 to OK, WARNING, CRITICAL, UNKNOWN.
	ExitCodesNagios = "nagios"
	// ExitCodesSlapOS treats 0 as OK and any other exit code as a failure.
	ExitCodesSlapOS = "slapos"
)

const bangExample = `["systemctl", "restart", "web"]`

var exitCodeKinds = []string{ExitCodesNagios, ExitCodesSlapOS}

// idRe is what a promise id may look like: it names files and tags.
var idRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// ExecPromise is a top-level promise block: an executable (a Nagios plugin
// or a SlapOS-style script) run by the agent's exec runner.
type ExecPromise struct {
	ID string
	// Command is the argument vector; a relative program path containing
	// a "/" is resolved against the configuration file's directory, a bare
	// name is looked up in PATH.
	Command   []string
	Interval  time.Duration // default: the agent's interval
	Timeout   time.Duration // default: DefaultExecTimeout
	ExitCodes string        // ExitCodesNagios (default) or ExitCodesSlapOS
	Env       []string      // extra "KEY=value" entries
	Anomaly   *Anomaly      // never nil after Parse: defaults apply
	Bang      []string
	DeclRange hcl.Range
}

// Anomaly says when a promise is in anomaly: FailureAmount failures within
// its last ResultCount results.
type Anomaly struct {
	ResultCount   int
	FailureAmount int
}

var execPromiseSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "command", Required: true}, {Name: "interval"}, {Name: "timeout"},
		{Name: "exit_codes"}, {Name: "env"}, {Name: "bang"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "anomaly"}},
}

var anomalySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "result_count"}, {Name: "failure_amount"}},
}

func decodeExecPromise(b *hcl.Block, agent *Agent, base string, ids promiseIDs, diags *hcl.Diagnostics) ExecPromise {
	p := ExecPromise{
		ID:        b.Labels[0],
		Interval:  agent.Interval,
		Timeout:   DefaultExecTimeout,
		ExitCodes: ExitCodesNagios,
		DeclRange: b.DefRange,
	}
	ids.claim(diags, b)
	content, d := b.Body.Content(execPromiseSchema)
	*diags = append(*diags, d...)
	r := reader{attrs: content.Attributes, diags: diags}
	if r.command("command", `["/usr/lib/nagios/plugins/check_load", "-w", "5,4,3"]`, &p.Command) {
		p.Command[0] = program(base, p.Command[0])
	}
	intervalOK := r.duration("interval", &p.Interval)
	timeoutOK := r.duration("timeout", &p.Timeout)
	warnTimeout(diags, content.Attributes, p.Timeout, p.Interval, timeoutOK, intervalOK)
	if r.str("exit_codes", &p.ExitCodes) && !slices.Contains(exitCodeKinds, p.ExitCodes) {
		a := content.Attributes["exit_codes"]
		r.errorAt(a, a.Expr.Range(), "Unsupported exit_codes value",
			"%q is not an exit code convention; use \"nagios\" (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN) or \"slapos\" (0 OK, anything else a failure).%s",
			p.ExitCodes, DidYouMean(p.ExitCodes, exitCodeKinds))
	}
	if r.strings("env", &p.Env) {
		a := content.Attributes["env"]
		for i, e := range p.Env {
			if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
				r.errorAt(a, elemRange(a.Expr, i), "Invalid environment entry",
					"%q must be written \"NAME=value\".", e)
			}
		}
	}
	if r.command("bang", bangExample, &p.Bang) {
		p.Bang[0] = program(base, p.Bang[0])
	}
	p.Anomaly = decodeAnomaly(content.Blocks, diags)
	return p
}

// program resolves a relative program path such as "./check.sh" against
// the configuration file's directory; bare names are left for PATH.
func program(base, prog string) string {
	if filepath.IsAbs(prog) || !strings.ContainsRune(prog, '/') {
		return prog
	}
	return filepath.Join(base, prog)
}

// decodeAnomaly decodes the (at most one) anomaly block among blocks.
func decodeAnomaly(blocks hcl.Blocks, diags *hcl.Diagnostics) *Anomaly {
	an := &Anomaly{ResultCount: DefaultResultCount, FailureAmount: DefaultFailureAmount}
	if len(blocks) == 0 {
		return an
	}
	checkDuplicateBlocks(diags, blocks, "anomaly")
	content, d := blocks[0].Body.Content(anomalySchema)
	*diags = append(*diags, d...)
	r := reader{attrs: content.Attributes, diags: diags}
	r.positiveInt("result_count", &an.ResultCount)
	r.positiveInt("failure_amount", &an.FailureAmount)
	if an.FailureAmount > an.ResultCount {
		subject := blocks[0].DefRange
		if a, ok := content.Attributes["failure_amount"]; ok {
			subject = a.Expr.Range()
		}
		*diags = append(*diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Anomaly can never open",
			Detail: fmt.Sprintf("failure_amount (%d) is larger than result_count (%d), so there can never be enough failures; lower failure_amount to at most %d.",
				an.FailureAmount, an.ResultCount, an.ResultCount),
			Subject: subject.Ptr(),
		})
	}
	return an
}
