package store

import "fmt"

// State is a release's lifecycle state.
type State string

// The release states.
const (
	Pending    State = "pending"    // published, waiting for evaluation
	Evaluating State = "evaluating" // the evaluator is running it
	Passed     State = "passed"     // evaluation passed; awaits the admin
	Failed     State = "failed"     // evaluation failed
	Approved   State = "approved"   // offered to `vigil install`
	Rejected   State = "rejected"   // the admin said no
	Withdrawn  State = "withdrawn"  // visible, installed only by exact version on request
	Abandoned  State = "abandoned"  // a mistake: hidden from everyone but the admin
)

// States lists every state in lifecycle order.
var States = []State{Pending, Evaluating, Passed, Failed, Approved, Rejected, Withdrawn, Abandoned}

// transitions is the state machine: the states each state may move to.
// Besides the flow it allows two changes:
//   - evaluating → pending: requeue a release whose evaluation was
//     interrupted (the registry restarted mid-run), so it is not stuck;
//   - withdrawn → approved: the admin reinstates a withdrawn version (it was
//     approved once, and withdrawal keeps it intact).
//
// Every state but abandoned may move to abandoned (admin only). Abandoned,
// rejected and failed are otherwise final: a fix is a new version.
var transitions = map[State][]State{
	Pending:    {Evaluating, Abandoned},
	Evaluating: {Passed, Failed, Pending, Abandoned},
	Passed:     {Approved, Rejected, Abandoned},
	Failed:     {Abandoned},
	Approved:   {Withdrawn, Abandoned},
	Rejected:   {Abandoned},
	Withdrawn:  {Approved, Abandoned},
	Abandoned:  nil,
}

// Transition reports whether a release may move from one state to another;
// the error wraps ErrInvalidTransition (or ErrInvalid for an unknown state).
func Transition(from, to State) error {
	if !from.Valid() || !to.Valid() {
		return fmt.Errorf("release state %q → %q: %w", from, to, ErrInvalid)
	}
	for _, s := range transitions[from] {
		if s == to {
			return nil
		}
	}
	return fmt.Errorf("a %s release cannot become %s: %w", from, to, ErrInvalidTransition)
}

// RequiresAdmin reports whether moving a release to state to is an admin's
// decision (approve, reject, withdraw, reinstate, abandon) rather than the
// evaluator's.
func RequiresAdmin(to State) bool {
	switch to {
	case Approved, Rejected, Withdrawn, Abandoned:
		return true
	}
	return false
}

// Valid reports whether s is one of States.
func (s State) Valid() bool {
	_, ok := transitions[s]
	return ok
}
