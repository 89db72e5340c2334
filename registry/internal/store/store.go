package store

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"time"
)

// Errors a caller branches on. Backends wrap them, so test with errors.Is.
var (
	// ErrNotFound: the publisher, plugin, release or credential asked for
	// does not exist, a row being created refers to one that does not
	// (a plugin's owner, a release's plugin), or a credential is revoked.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique name or key is taken (publisher name, plugin
	// name, signing key id, credential hash, plugin and version), or a
	// release changed state while a transition was being recorded.
	ErrConflict = errors.New("already exists")
	// ErrInvalidTransition: the release state machine forbids the change.
	ErrInvalidTransition = errors.New("invalid release state transition")
	// ErrInvalid: the input itself is wrong (empty name, bad semver, unknown
	// role or state, malformed JSON, wrong key size).
	ErrInvalid = errors.New("invalid input")
)

// Publisher is a person or organisation that owns plugins.
type Publisher struct {
	ID      int64
	Name    string
	Keys    []SigningKey // oldest first
	Created time.Time
}

// SigningKey is an ed25519 public key a publisher signs SHA256SUMS with.
// Its ID is unique across the registry.
type SigningKey struct {
	ID        string
	PublicKey ed25519.PublicKey
	Created   time.Time
}

// Plugin is a registered plugin name and its owner.
type Plugin struct {
	Name        string
	Owner       int64 // publisher id
	Description string
	SourceURL   string
	Created     time.Time
}

// Role is what a credential may do; the scope fields of Credential say on what.
type Role string

// The roles.
const (
	RoleAdmin     Role = "admin"     // everything; no scope
	RolePublisher Role = "publisher" // its own plugins; scope Publisher
	RolePlugin    Role = "plugin"    // publishes releases of one plugin; scope Plugin
	RoleAgent     Role = "agent"     // downloads (later: ingest); scope Node, optional
)

// Credential is a stored token: only the SHA-256 of its secret is kept.
type Credential struct {
	ID        int64
	Role      Role
	Hash      Hash
	Publisher int64  // RolePublisher
	Plugin    string // RolePlugin
	Node      string // RoleAgent (may be empty)
	Created   time.Time
	Revoked   *time.Time
}

// Release is one version of a plugin.
type Release struct {
	Plugin    string
	Version   string // semver, without a leading "v"
	State     State
	Manifest  json.RawMessage
	Artifacts []Artifact // ordered by OS, Arch
	Signature *Signature
	Created   time.Time
}

// Artifact is a release's archive for one platform.
type Artifact struct {
	OS, Arch string
	Path     string // relative to the registry's artifact directory
	SHA256   string // lowercase hex
	Size     int64
}

// Signature is the publisher's ed25519 signature over SHA256SUMS.
type Signature struct {
	SHA256Sums []byte
	Signature  []byte
	KeyID      string
}

// NewRelease is what a publish stores, all at once, in state Pending.
type NewRelease struct {
	Plugin, Version string
	Manifest        json.RawMessage
	Artifacts       []Artifact
	Signature       *Signature
	Actor           string // recorded as the actor of the creation ("" → pending)
}

// ReleaseQuery filters ListReleases; zero fields match everything.
type ReleaseQuery struct {
	Plugin string
	States []State
}

// TransitionRecord is one recorded state change. The creation of a
// release is recorded with From == "".
type TransitionRecord struct {
	From, To State
	Actor    string
	Reason   string
	At       time.Time
}

// Evaluation is one evaluation run's report.
type Evaluation struct {
	Report   json.RawMessage
	Started  time.Time
	Finished time.Time
}

// Publishers manages publishers and their signing keys.
type Publishers interface {
	CreatePublisher(ctx context.Context, name string) (Publisher, error)
	Publisher(ctx context.Context, id int64) (Publisher, error)
	ListPublishers(ctx context.Context) ([]Publisher, error)
	AddSigningKey(ctx context.Context, publisher int64, id string, key ed25519.PublicKey) (SigningKey, error)
}

// Plugins manages plugin registrations.
type Plugins interface {
	CreatePlugin(ctx context.Context, p Plugin) (Plugin, error)
	Plugin(ctx context.Context, name string) (Plugin, error)
	// ListPlugins lists all plugins, or those of one publisher if owner != 0.
	ListPlugins(ctx context.Context, owner int64) ([]Plugin, error)
}

// Credentials manages tokens.
type Credentials interface {
	CreateCredential(ctx context.Context, c Credential) (Credential, error)
	// CredentialByHash returns the active credential with this hash;
	// ErrNotFound if there is none or it is revoked.
	CredentialByHash(ctx context.Context, h Hash) (Credential, error)
	RevokeCredential(ctx context.Context, id int64) error
	ListCredentials(ctx context.Context) ([]Credential, error)
}

// Releases manages releases and their lifecycle.
type Releases interface {
	CreateRelease(ctx context.Context, r NewRelease) (Release, error)
	Release(ctx context.Context, plugin, version string) (Release, error)
	ListReleases(ctx context.Context, q ReleaseQuery) ([]Release, error)
	// TransitionRelease moves a release to state to if Transition allows
	// it from the current state, re-read in the same transaction that
	// records the change, so of two racing transitions only one wins.
	TransitionRelease(ctx context.Context, plugin, version string, to State, actor, reason string) (Release, error)
	History(ctx context.Context, plugin, version string) ([]TransitionRecord, error)
	// DeleteRelease removes a release with its artifacts' rows, signature,
	// evaluations and transition history, whatever its state; the archive
	// files are the caller's. actor (who deletes) must not be empty.
	// ErrNotFound if there is no such release.
	DeleteRelease(ctx context.Context, plugin, version string, actor string) error
}

// Evaluations stores evaluation reports.
type Evaluations interface {
	AddEvaluation(ctx context.Context, plugin, version string, e Evaluation) error
	// Evaluations returns a release's reports, oldest first.
	Evaluations(ctx context.Context, plugin, version string) ([]Evaluation, error)
}

// Node is an agent the registry has heard from.
type Node struct {
	Name         string
	AgentVersion string
	Tags         map[string]string
	// Inventory is the agent's last report of what it runs, as it sent it
	// (JSON; see docs/api.md, PUT /v1/nodes/{node}/inventory).
	Inventory json.RawMessage
	FirstSeen time.Time
	LastSeen  time.Time
}

// NodeInfo is what an agent reports about itself.
type NodeInfo struct {
	AgentVersion string
	Tags         map[string]string
	Inventory    json.RawMessage
}

// LatestValue is the most recent value of one field of one series.
type LatestValue struct {
	Node        string
	Measurement string
	Tags        string // the series' other tags, canonical: "k1=v1,k2=v2" sorted by key
	Field       string
	Value       any // float64, int64, uint64, bool or string
	Time        time.Time
}

// PromiseResult is the latest result of one promise on one node.
type PromiseResult struct {
	Node       string
	Plugin     string
	Promise    string
	Status     int // 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN
	Message    string
	Anomaly    bool
	DurationMS float64
	Time       time.Time
}

// BatchKey names one batch: its sender's node and its id.
type BatchKey struct {
	Node, ID string
}

// BatchClaim is the state of a batch id's claim (Fleet.RememberBatch).
// Ingest claims a batch id before storing the batch and confirms the claim
// once the batch is stored; a claim left unconfirmed by an owner that
// stopped is taken over (Fleet.TakeOverBatch) and the batch stored again.
type BatchClaim struct {
	// Fresh is set when no claim existed: one was made, owned by the
	// caller and unconfirmed.
	Fresh bool
	// Owner is the registry process that made the claim or took it over
	// last; "" for claims made before claims had owners.
	Owner string
	// Confirmed is set once the batch the claim guards is stored (and for
	// claims made before claims were confirmed).
	Confirmed bool
}

// Fleet is the state ingest keeps about the nodes that write to it.
// Registry-clock times (batches seen, nodes first and last seen) are kept to
// the microsecond, point times (LatestValue, PromiseResult) to the
// nanosecond; all read back in UTC. Input that breaks a documented rule (an
// empty name or key part, an unknown value type, a status outside 0–3,
// inventory that is not JSON) is refused with ErrInvalid and nothing is
// written.
type Fleet interface {
	// RememberBatch claims node's batch id for owner (the registry process
	// about to store the batch) at at. If the id is not remembered it
	// records a claim, owned by owner and unconfirmed, and returns it with
	// Fresh set; otherwise it records nothing and returns the existing
	// claim's state. Of concurrent calls with one node and id exactly one
	// is Fresh. node, id and owner must not be empty.
	RememberBatch(ctx context.Context, node, id, owner string, at time.Time) (BatchClaim, error)
	// TakeOverBatch moves node's claim of batch id from owner from to
	// owner to, if it is still owned by from and unconfirmed (a
	// compare-and-set: of concurrent calls from one owner, one wins). It
	// returns false, changing nothing, if the claim is confirmed, owned by
	// another or not remembered. to must not be empty.
	TakeOverBatch(ctx context.Context, node, id, from, to string) (bool, error)
	// ConfirmBatches marks the claims of keys confirmed (their batches are
	// stored), whoever owns them, in one transaction; keys not remembered
	// are ignored, and so is a key given twice.
	ConfirmBatches(ctx context.Context, keys []BatchKey) error
	// ForgetBatch forgets one remembered batch id (ingest gives back the
	// claim of a batch it could not store, so the sender's retry is
	// stored); forgetting an id not remembered is not an error.
	ForgetBatch(ctx context.Context, node, id string) error
	// ForgetBatches drops batch ids remembered before before and returns
	// how many.
	ForgetBatches(ctx context.Context, before time.Time) (int64, error)
	// TouchNode records that node was seen at: it creates the node (first
	// seen = last seen = at) or moves its last seen forward (never
	// backward; an earlier at moves first seen back instead).
	TouchNode(ctx context.Context, node string, at time.Time) error
	// SetNodeInfo replaces what node reported about itself (creating the
	// node, seen at, if it is new) and records the contact at at as
	// TouchNode does.
	SetNodeInfo(ctx context.Context, node string, info NodeInfo, at time.Time) error
	// Node returns one node; ErrNotFound if it never wrote.
	Node(ctx context.Context, name string) (Node, error)
	// ListNodes returns every node, sorted by name.
	ListNodes(ctx context.Context) ([]Node, error)
	// PutLatest upserts latest values, in one transaction; a value older
	// than the stored one for the same node, measurement, tags and field is
	// ignored (one as old replaces it), and so is the older of two in the
	// same call.
	PutLatest(ctx context.Context, values []LatestValue) error
	// Latest returns a node's latest values sorted by measurement, tags,
	// field.
	Latest(ctx context.Context, node string) ([]LatestValue, error)
	// PutPromiseResults upserts results keyed by node, plugin, promise; an
	// older result than the stored one is ignored.
	PutPromiseResults(ctx context.Context, results []PromiseResult) error
	// PromiseResults returns a node's latest promise results, sorted by
	// plugin then promise; every node's, sorted by node first, when node
	// is "".
	PromiseResults(ctx context.Context, node string) ([]PromiseResult, error)
}

// Store is everything a backend provides; consumers take the small
// interfaces above.
type Store interface {
	Publishers
	Plugins
	Credentials
	Releases
	Evaluations
	Fleet
	Close() error
}
