// Package app holds the license service's use cases: activation of line items into
// signed fulfillments, and the tenant's signing keys.
package app

import (
	"context"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	"github.com/tessera-dev/tessera/services/license/licfile"
	"github.com/tessera-dev/tessera/services/platform/seats"
)

// Fulfillment states.
const (
	StateActive   = "active"
	StateReturned = "returned"
	StateObsolete = "obsolete"
)

// Fulfillment is a license generated for one host from a line item.
type Fulfillment struct {
	ID           string
	ActivationID string
	AccountID    string
	HostID       string
	Quantity     int64
	State        string
	LicenseText  string
	LicenseJSON  string
	KeyID        string
	RequestID    string
	ClaimID      uuid.UUID
	UserID       string
	CreateTime   time.Time
}

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

// LineItem is what activation needs to know of a line item.
type LineItem struct {
	ActivationID  string
	EntitlementID string
	AccountID     string
	ProductLineID string
	// StartAtFirstActivation: the term (ExpireAfter) starts at the first activation.
	StartAtFirstActivation bool
	ExpireAfter            string
	ProductID              string
	ModelType              string // entitlement service's license model type
	AllowedHostKinds       []string
	StartTime              *time.Time
	ExpireTime             *time.Time
}

// Feature is a product feature to license.
type Feature struct{ Name, Version string }

// Entitlements is what the use cases need of the entitlement service.
type Entitlements interface {
	LineItem(ctx context.Context, activationID string) (LineItem, error)
	Features(ctx context.Context, productID string) ([]Feature, error)
}

// Seats is the seat-claim ledger (platform/seats).
type Seats interface {
	Begin(ctx context.Context, c seats.Claim) (string, error)
	Confirm(ctx context.Context, id uuid.UUID)
	Abort(ctx context.Context, tenantID string, id uuid.UUID)
}

// Store is the persistence the use cases need.
type Store interface {
	FulfillmentByRequest(ctx context.Context, tenant, requestID string) (Fulfillment, error)
	GetFulfillment(ctx context.Context, tenant, id string) (Fulfillment, error)
	// CreateFulfillment stores f, commits its seat claim and writes its event, in
	// one transaction.
	CreateFulfillment(ctx context.Context, tenant string, f Fulfillment) error
	ActiveKey(ctx context.Context, tenant string) (SigningKey, error)
	ListKeys(ctx context.Context, tenant string) ([]SigningKey, error)
	// RotateKey makes a new key of the algorithm the active one, retiring the old.
	RotateKey(ctx context.Context, tenant, algorithm string) (SigningKey, error)
	Settings(ctx context.Context, tenant string) (Settings, error)
	UpdateSettings(ctx context.Context, tenant string, fn func(*Settings) error) (Settings, error)
}

var (
	meter             = otel.Meter("github.com/tessera-dev/tessera/services/license")
	activations, _    = meter.Int64Counter("tessera.license.activations", metric.WithDescription("Fulfillments created by activation"))
	activatedSeats, _ = meter.Int64Counter("tessera.license.activated_seats", metric.WithDescription("Seats held by fulfillments created by activation"))
)

// App is the license service's use cases.
type App struct {
	store Store
	ent   Entitlements
	seats Seats
	now   func() time.Time
}

// New returns the use cases.
func New(store Store, ent Entitlements, seats Seats) *App {
	return &App{store: store, ent: ent, seats: seats, now: time.Now}
}
