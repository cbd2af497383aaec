// Package app holds the license service's use cases: activation of line items into
// signed fulfillments, and the tenant's signing keys.
package app

import (
	"context"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/metric"

	"github.com/tessera-dev/tessera/services/license/licfile"
	"github.com/tessera-dev/tessera/services/platform/filter"
	"github.com/tessera-dev/tessera/services/platform/seats"
)

// Fulfillment states.
const (
	StateActive   = "active"
	StateReturned = "returned"
	StateObsolete = "obsolete"
)

// Support types (SPEC LIC-7): MASTER is the live fulfillment; the others mark one a
// lifecycle operation replaced.
const (
	SupportMaster   = "master"
	SupportReturn   = "return"
	SupportRepair   = "repair"
	SupportRehost   = "rehost"
	SupportObsolete = "obsolete"
	SupportUpgrade  = "upgrade"
	SupportUpsell   = "upsell"
	SupportRenew    = "renew"
	SupportTransfer = "transfer"
)

// Fulfillment is a license generated from a line item for one host group: a license
// server (or triad) and, for node-locked counted models, its client hosts; or the
// client hosts of an uncounted model.
type Fulfillment struct {
	ID            string
	ActivationID  string
	AccountID     string
	EntitlementID string
	ProductLineID string
	// HostID is the first server host, or the first node-locked host.
	HostID        string
	ServerHostIDs []string
	NodeHostIDs   []string
	// Quantity is the seats the fulfillment holds: count plus overdraft.
	Quantity    int64
	Overdraft   int64
	State       string
	SupportType string
	ProductID   string
	Version     string
	ModelType   string
	Technology  string
	ExpireTime  *time.Time
	// Attributes are the license keywords it was generated with (NOTICE, BORROW, …).
	Attributes     map[string]string
	ParentID       string
	RootID         string // the first fulfillment of the lineage
	ConsolidatedID string
	LicenseText    string
	LicenseJSON    string
	KeyID          string
	RequestID      string
	ClaimID        uuid.UUID
	UserID         string
	CreateTime     time.Time
	// ShipTo are the addresses the license email goes to (besides the user).
	ShipTo []string
	// Start is the term start an activation records on the line item.
	Start time.Time
}

// Count is the fulfillment's seat count without overdraft.
func (f Fulfillment) Count() int64 { return f.Quantity - f.Overdraft }

// ConsolidatedLicense is one license file for several fulfillments of one server
// host (SPEC LIC-6).
type ConsolidatedLicense struct {
	ID             string
	AccountID      string
	ServerHostIDs  []string
	Technology     string
	FulfillmentIDs []string
	LicenseText    string
	LicenseJSON    string
	KeyID          string
	CreateTime     time.Time
	Shipments      []Shipment
	// ReplacedBy is the consolidated license it was moved to, if any.
	ReplacedBy string
	// RetireTime is when a member was replaced and the file stopped matching its
	// members (zero: current).
	RetireTime time.Time
}

// Current reports whether the consolidated license still matches its members.
func (c ConsolidatedLicense) Current() bool { return c.ReplacedBy == "" && c.RetireTime.IsZero() }

// Signing key algorithms as stored.
const (
	AlgEd25519 = "ed25519"
	AlgES256   = "es256"
)

// SigningKey is a tenant's signing key; Signer is set only for the active key.
type SigningKey struct {
	ID        string
	Algorithm string
	// Public is the raw public key (licfile.PublicKey.Raw).
	Public     []byte
	Signer     licfile.Signer
	Active     bool
	CreateTime time.Time
	RetireTime *time.Time
}

// LineItem is what activation needs to know of a line item and its license model.
type LineItem struct {
	ActivationID  string
	EntitlementID string
	AccountID     string
	ProductLineID string
	// StartAtFirstActivation: the term (ExpireAfter) starts at the first activation.
	StartAtFirstActivation bool
	ExpireAfter            string
	ProductID              string
	ModelID                string
	ModelType              string // entitlement service's license model type
	AllowedHostKinds       []string
	StartTime              *time.Time
	ExpireTime             *time.Time
	Available, Quantity    int64
	OverdraftAllowed       bool
	Cancelled, Deployed    bool
	// Kind is standard, upgrade, upsell, renewal, …; Supersedes the line item an
	// upgrade, upsell or renewal follows.
	Kind, Supersedes string
	Defaults         ModelDefaults
	// Policies bound the lifecycle operations (OpReturn, OpRepair, OpRehost).
	Policies map[string]Policy
}

// ModelDefaults are the license attributes a license model sets.
type ModelDefaults struct {
	BorrowHours                                         int32
	TerminalServer, UseServer                           bool
	VMPlatforms, TimeZone, Issuer, Notice, VendorString string
	Platforms                                           []string
}

// Policy bounds one lifecycle operation: Allowed times per Period (empty: ever).
type Policy struct {
	Allowed int32
	Period  string
}

// Lifecycle operations.
const (
	OpReturn = "return"
	OpRepair = "repair"
	OpRehost = "rehost"
)

// License technologies.
const (
	TechCertificate    = "certificate"
	TechTrustedStorage = "trusted_storage"
	TechEmbedded       = "embedded"
	TechCustom         = "custom"
)

// Product is what a license is generated from.
type Product struct {
	ID, Version, Technology string
	Features                []Feature
}

// Feature is a product feature to license.
type Feature struct{ Name, Version string }

// Entitlements is what the use cases need of the entitlement service.
type Entitlements interface {
	LineItem(ctx context.Context, activationID string) (LineItem, error)
	Product(ctx context.Context, productID string) (Product, error)
	// MoveSeats moves seats a confirmed reservation holds to another account's line
	// item, under the new reservation; it returns that line item's activation ID.
	MoveSeats(ctx context.Context, reservation uuid.UUID, quantity int64, toAccount string, pool bool, next uuid.UUID) (string, error)
	// ReleaseSeats gives back what a reservation holds (idempotent).
	ReleaseSeats(ctx context.Context, reservation uuid.UUID) error
}

// Seats is the seat-claim ledger (platform/seats).
type Seats interface {
	Begin(ctx context.Context, c seats.Claim) (string, error)
	// BeginMany begins new claims of one tenant together; errs[i] is claim i's.
	BeginMany(ctx context.Context, cs []seats.Claim) (errs []error)
	Confirm(ctx context.Context, id uuid.UUID)
	ConfirmNow(ctx context.Context, id uuid.UUID)
	Abort(ctx context.Context, tenantID string, id uuid.UUID)
}

// Store is the persistence the use cases need.
type Store interface {
	GetFulfillment(ctx context.Context, tenant, id string) (Fulfillment, error)
	// CreateActivations stores activations — each a request's fulfillments and
	// consolidated licenses — commits their seat claims, records the hosts and writes
	// the events, all in one transaction.
	CreateActivations(ctx context.Context, tenant string, as []NewActivation) error
	ListFulfillments(ctx context.Context, tenant string, scope Scope, q filter.Query, full bool) ([]Fulfillment, string, error)
	// RecordFulfillmentEmail writes the event that carries a license email.
	RecordFulfillmentEmail(ctx context.Context, tenant, id string, to []string, subject, text, license string) (uuid.UUID, error)
	// LifecycleTimes are when the lineage's fulfillments were marked supportType.
	LifecycleTimes(ctx context.Context, tenant, rootID, supportType string) ([]time.Time, error)
	ListHosts(ctx context.Context, tenant, accountID string, q filter.Query) ([]Host, string, error)
	CreateJob(ctx context.Context, tenant string, j Job) (Job, error)
	GetJob(ctx context.Context, tenant, id string) (Job, error)
	// ClaimJob leases the oldest open job whose lease ran out, for lease.
	ClaimJob(ctx context.Context, lease time.Duration) (Job, bool, error)
	SetJobTotal(ctx context.Context, tenant, id string, total int) error
	// ApplyTransfer marks a fulfillment TRANSFER and stores its successor in the other
	// account with the adopted claim and the job's progress, in one transaction; it
	// reports false, changing nothing, when the fulfillment is no longer MASTER.
	ApplyTransfer(ctx context.Context, tenant, jobID string, f, next Fulfillment, claim seats.Claim) (bool, error)
	FinishJob(ctx context.Context, tenant, id, state, errText string, retryIn time.Duration) error
	// HostKnown reports whether an account ever activated for the host.
	HostKnown(ctx context.Context, tenant, accountID, hostID string) (bool, error)
	// LiveOf lists an account's MASTER fulfillments, of a product and on a host
	// (server or node-locked) when those are given, largest first.
	LiveOf(ctx context.Context, tenant, accountID, productID, hostID string) ([]Fulfillment, error)
	// LiveOfLineItem lists the MASTER fulfillments of a line item.
	LiveOfLineItem(ctx context.Context, tenant, activationID string) ([]Fulfillment, error)
	// LiveSuccessors lists the MASTER fulfillments made from parentID (lineage rootID).
	LiveSuccessors(ctx context.Context, tenant, rootID, parentID string) ([]Fulfillment, error)
	// LiveOfClaim lists the MASTER fulfillments a seat claim backs.
	LiveOfClaim(ctx context.Context, tenant string, claimID uuid.UUID) ([]Fulfillment, error)
	// ApplyLifecycle stores a lifecycle change with its claims in one transaction;
	// it fails with FULFILLMENT_NOT_MASTER when another change got there first.
	ApplyLifecycle(ctx context.Context, tenant string, c LifecycleChange) error
	// LifecycleByRequest returns what a lifecycle request replaced and created.
	LifecycleByRequest(ctx context.Context, tenant, requestID string) ([]Fulfillment, []Fulfillment, error)
	// CreateConsolidated stores consolidated licenses of existing MASTER
	// fulfillments, refusing members consolidated or replaced meanwhile.
	CreateConsolidated(ctx context.Context, tenant, requestID string, cls []ConsolidatedLicense) error
	ConsolidatedByRequest(ctx context.Context, tenant, requestID string) ([]ConsolidatedLicense, error)
	GetConsolidated(ctx context.Context, tenant, id string) (ConsolidatedLicense, error)
	ListConsolidated(ctx context.Context, tenant string, scope Scope, q filter.Query) ([]ConsolidatedLicense, string, error)
	// RecordShipment records a consolidated license's email and writes its event.
	RecordShipment(ctx context.Context, tenant string, c ConsolidatedLicense, to []string, userID, subject, text string) error
	MarkConsolidatedReplaced(ctx context.Context, tenant, id, by string) error
	// FulfillmentsByRequest returns what an activation request created.
	FulfillmentsByRequest(ctx context.Context, tenant, requestID string) ([]Fulfillment, []ConsolidatedLicense, error)
	ActiveKey(ctx context.Context, tenant string) (SigningKey, error)
	ListKeys(ctx context.Context, tenant string) ([]SigningKey, error)
	// RotateKey makes a new key of the algorithm the active one, retiring the old.
	RotateKey(ctx context.Context, tenant, algorithm string) (SigningKey, error)
	Settings(ctx context.Context, tenant string) (Settings, error)
	UpdateSettings(ctx context.Context, tenant string, fn func(*Settings) error) (Settings, error)
}

// counters are the service's business metrics, made by its own meter provider so
// they carry its service.name.
type counters struct {
	activations, activatedSeats metric.Int64Counter
}

func newCounters(mp metric.MeterProvider) counters {
	meter := mp.Meter("github.com/tessera-dev/tessera/services/license")
	var c counters
	c.activations, _ = meter.Int64Counter("tessera.license.activations", metric.WithDescription("Fulfillments created by activation"))
	c.activatedSeats, _ = meter.Int64Counter("tessera.license.activated_seats", metric.WithDescription("Seats held by fulfillments created by activation"))
	return c
}

// App is the license service's use cases.
type App struct {
	store    Store
	ent      Entitlements
	seats    Seats
	accounts Accounts
	now      func() time.Time
	// wakeJobs tells the job worker a job was queued.
	wakeJobs chan struct{}
	// committer groups concurrent activations while RunCommitter runs.
	committer groupCommitter
	counters  counters
}

// New returns the use cases; mp makes their metrics.
func New(store Store, ent Entitlements, seats Seats, accounts Accounts, mp metric.MeterProvider) *App {
	return &App{store: store, ent: ent, seats: seats, accounts: accounts, now: time.Now, wakeJobs: make(chan struct{}, 1), counters: newCounters(mp)}
}

// Accounts is what the use cases ask of the account service.
type Accounts interface {
	// AccountExists reports whether the request's tenant has the account.
	AccountExists(ctx context.Context, accountID string) (bool, error)
}
