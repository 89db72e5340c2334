package evaluate

import (
	"encoding/json"
	"time"

	"github.com/vigilmon/vigil/sdk/release"
)

// Input is one release to evaluate, as the registry stored it.
type Input struct {
	Plugin  string
	Version string
	// Dir holds the release's archives, SHA256SUMS and SHA256SUMS.sig.
	Dir       string
	PublicKey release.PublicKey // the publisher's key that signed SHA256SUMS
}

// Check is one step of an evaluation.
type Check struct {
	Name       string  `json:"name"`
	Passed     bool    `json:"passed"`
	Detail     string  `json:"detail,omitempty"`
	DurationMS float64 `json:"duration_ms"`
}

// Report is the stored outcome of an evaluation; it is shown to the
// publisher and the admin.
type Report struct {
	Passed          bool            `json:"passed"`
	Started         time.Time       `json:"started"`
	Finished        time.Time       `json:"finished"`
	Checks          []Check         `json:"checks"`
	Platforms       []string        `json:"platforms,omitempty"`        // "linux/amd64", ...
	ProtocolVersion int             `json:"protocol_version,omitempty"` // negotiated with the host's build
	Manifest        json.RawMessage `json:"manifest,omitempty"`         // what the plugin declared
}
