package app

import (
	"context"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/duration"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/filter"
)

// Store is the persistence the use cases need.
type Store interface {
	ListAuditEvents(ctx context.Context, tenant string, q filter.Query) ([]events.AuditEvent, string, error)
	CreateLicenseModel(ctx context.Context, tenant string, m LicenseModel) (LicenseModel, error)
	GetLicenseModel(ctx context.Context, tenant, id string) (LicenseModel, error)
	ListLicenseModels(ctx context.Context, tenant string, q filter.Query) ([]LicenseModel, string, error)
	// UpdateLicenseModel applies fn under the model's row lock; inUse tells whether a
	// product or line item refers to the model.
	UpdateLicenseModel(ctx context.Context, tenant, id string, fn func(m *LicenseModel, inUse bool) error) (LicenseModel, error)
	CreateProduct(ctx context.Context, tenant string, p Product) (Product, error)
	GetProduct(ctx context.Context, tenant, id string) (Product, error)
	UpdateProduct(ctx context.Context, tenant, id string, fn func(*Product) error) (Product, error)
	ListProducts(ctx context.Context, tenant string, q filter.Query) ([]Product, string, error)
	CreateEntitlement(ctx context.Context, tenant string, e Entitlement) (Entitlement, bool, error)
	// UpsertOrders stores orders' entitlements and line items in one transaction
	// (see IngestOrders) and returns them as stored, with how many were new.
	UpsertOrders(ctx context.Context, tenant string, ents []Entitlement) ([]Entitlement, int, error)
	GetEntitlement(ctx context.Context, tenant, id string) (Entitlement, error)
	GetLineItem(ctx context.Context, tenant, activationID string) (LineItem, error)
	RecordLineItemEmail(ctx context.Context, tenant, activationID string, to []string, subject, text string) (uuid.UUID, error)
	SetSubscriptionToken(ctx context.Context, tenant, accountID string, hash []byte, by string) error
	TransferLineItem(ctx context.Context, tenant, activationID, toAccount string) (LineItem, error)
	SplitLineItem(ctx context.Context, tenant string, s Split, fresh Entitlement) (LineItem, LineItem, error)
	CreateBulkEntitlement(ctx context.Context, tenant string, b BulkEntitlement) (BulkEntitlement, error)
	GetBulkEntitlement(ctx context.Context, tenant, id string) (BulkEntitlement, error)
	BulkForKey(ctx context.Context, tenant, key string) (BulkEntitlement, error)
	RedeemWebRegisterKey(ctx context.Context, tenant, key string, e Entitlement) (Entitlement, error)
	SplitBulkEntitlement(ctx context.Context, tenant, fromID, newID, retailer string, keyCount int, requestID string) (BulkEntitlement, error)
	DecideTransfer(ctx context.Context, tenant, activationID string, approve bool) (LineItem, error)
	// SetLineItemState moves a line item to state under its row lock when it is in
	// one of from, with the event for the change; in state already, it changes
	// nothing.
	SetLineItemState(ctx context.Context, tenant, activationID, state string, from []string) (LineItem, error)
	RevokeSubscriptionToken(ctx context.Context, tenant, accountID string) error
	SubscriptionAccount(ctx context.Context, tenant string, hash []byte) (string, error)
	UsableLineItems(ctx context.Context, tenant, accountID string, now time.Time) ([]LineItem, error)
	ListLineItems(ctx context.Context, tenant string, scope LineItemScope, q filter.Query, includeSuperseded bool) ([]LineItem, string, error)
	ListEntitlements(ctx context.Context, tenant string, scope LineItemScope, q filter.Query) ([]Entitlement, string, error)
	ListExpiring(ctx context.Context, tenant string, f ExpiringFilter, limit int) ([]ExpiringLineItem, error)
	RecordRenewalRequest(ctx context.Context, tenant string, activationIDs []string, userID, note, summary string) error
	HasProductAccess(ctx context.Context, tenant, productID string, accountIDs []string) (bool, error)
	CountEntitlements(ctx context.Context, tenant string, accountIDs []string) (int64, error)
	Reserve(ctx context.Context, tenant string, r Reservation, accountIDs []string) (Reservation, error)
	ReserveMany(ctx context.Context, tenant string, reqs []ReserveRequest) ([]Reservation, []error, error)
	Confirm(ctx context.Context, tenant string, id uuid.UUID) (Reservation, error)
	ConfirmMany(ctx context.Context, tenant string, ids []uuid.UUID) (map[uuid.UUID]error, error)
	Reservation(ctx context.Context, tenant string, id uuid.UUID) (Reservation, error)
	Release(ctx context.Context, tenant string, id uuid.UUID, holder string) (Reservation, error)
	ExpireReservations(ctx context.Context, now time.Time, limit int) ([]Reservation, error)
	ResolveKey(ctx context.Context, tenant, kind, key string) (EntitlementKey, error)
	CreateServicePlan(ctx context.Context, tenant string, sp ServicePlan) (ServicePlan, error)
	CreateProductLine(ctx context.Context, tenant string, pl ProductLine) (ProductLine, error)
	CreateTrial(ctx context.Context, tenant string, t Trial) (Trial, error)
	AvailableTrials(ctx context.Context, tenant, userID string) ([]Trial, error)
	RegisterTrials(ctx context.Context, tenant, userID, accountID string, partNumbers []string, ents []Entitlement) error
	GetProductLine(ctx context.Context, tenant, id string) (ProductLine, error)
	ListProductLines(ctx context.Context, tenant string, q filter.Query) ([]ProductLine, string, error)
	GetServicePlan(ctx context.Context, tenant, id string) (ServicePlan, error)
	ListServicePlans(ctx context.Context, tenant string, q filter.Query) ([]ServicePlan, string, error)
	AssignKey(ctx context.Context, tenant string, k EntitlementKey, accountID string) (EntitlementKey, error)
}

// Accounts is what the service needs of the account service.
type Accounts interface {
	AccountExists(ctx context.Context, accountID string) (bool, error)
	// Names returns accounts' display names by ID; NamedLike the IDs of accounts whose
	// names match a "*" pattern.
	Names(ctx context.Context, ids []string) (map[string]string, error)
	NamedLike(ctx context.Context, pattern string) ([]string, error)
}

// counters are the service's business metrics, made by its own meter provider so
// they carry its service.name.
type counters struct {
	ordersIngested, seatsReserved, seatsReleased, reservationsExpired metric.Int64Counter
}

func newCounters(mp metric.MeterProvider) counters {
	meter := mp.Meter("github.com/tessera-dev/tessera/services/entitlement")
	var c counters
	c.ordersIngested, _ = meter.Int64Counter("tessera.entitlement.orders_ingested", metric.WithDescription("Orders turned into entitlements (resends not counted)"))
	c.seatsReserved, _ = meter.Int64Counter("tessera.entitlement.seats_reserved", metric.WithDescription("Seats reserved by other services"))
	c.seatsReleased, _ = meter.Int64Counter("tessera.entitlement.seats_released", metric.WithDescription("Seats given back"))
	c.reservationsExpired, _ = meter.Int64Counter("tessera.entitlement.reservations_expired", metric.WithDescription("Reservations released by the reconciler because their holder never settled them"))
	return c
}

// App is the entitlement service's use cases.
type App struct {
	store    Store
	accounts Accounts
	now      func() time.Time
	counters counters
}

// New returns the use cases; mp makes their metrics.
func New(store Store, accounts Accounts, mp metric.MeterProvider) *App {
	return &App{store: store, accounts: accounts, now: time.Now, counters: newCounters(mp)}
}

func tenantAttr(tenant string) metric.AddOption {
	return metric.WithAttributes(attribute.String("tenant", tenant))
}

// CheckActivatable refuses seats from a line item that is not deployed or is
// outside its validity period.
func CheckActivatable(li LineItem) error {
	if li.Quantity == 0 {
		return errs.FailedPrecondition("LINE_ITEM_CANCELLED", "line item %s has quantity 0: its order line was cancelled or refunded", li.ActivationID)
	}
	if li.State != StateDeployed {
		return errs.FailedPrecondition("LINE_ITEM_NOT_DEPLOYED", "line item %s is %s, not deployed", li.ActivationID, li.State)
	}
	now := time.Now()
	if li.StartTime != nil && now.Before(*li.StartTime) {
		return errs.FailedPrecondition("LINE_ITEM_NOT_STARTED", "line item %s starts %s", li.ActivationID, li.StartTime.Format(time.DateOnly))
	}
	if li.ExpireTime != nil && !now.Before(*li.ExpireTime) {
		return errs.FailedPrecondition("LINE_ITEM_EXPIRED", "line item %s expired %s", li.ActivationID, li.ExpireTime.Format(time.DateOnly))
	}
	return nil
}

// visible returns NotFound for line items (and entitlements, when activationID is
// empty) the caller may not see, so their existence is not disclosed.
func visible(ctx context.Context, li authz.LineItemRef, resource, id string) error {
	p, _ := authz.FromContext(ctx)
	if !authz.CanSeeLineItem(p, li) {
		return errs.NotFound(resource, id)
	}
	return nil
}

// FirstActivation returns the start and expiry a line item that starts at its first
// activation gets when activated at now; ok is false for other line items.
func FirstActivation(li LineItem, now time.Time) (start time.Time, expire *time.Time, ok bool) {
	if !li.StartAtFirstActivation || li.StartTime != nil {
		return time.Time{}, nil, false
	}
	return now, duration.TermEnd(li.ExpireAfter, now), true
}
