// Package app holds the entitlement service's use cases: the catalog, order
// ingestion, and the seat arithmetic other services rely on.
package app

import (
	"time"

	"github.com/google/uuid"
)

// License model types (SPEC ENT-2).
const (
	ModelNodelockedUncounted = "nodelocked_uncounted"
	ModelNodelockedCounted   = "nodelocked_counted"
	ModelFloatingUncounted   = "floating_uncounted"
	ModelFloatingCounted     = "floating_counted"
	ModelTrustedClient       = "trusted_client"
	ModelTrustedServer       = "trusted_server"
	ModelEmbedded            = "embedded"
)

// Line item states (SPEC ENT-4).
const (
	StateDraft    = "draft"
	StateDeployed = "deployed"
	StateOnHold   = "on_hold"
	StateObsolete = "obsolete"
)

// Reservation states.
const (
	ReservationReserved  = "reserved"
	ReservationConfirmed = "confirmed"
	ReservationReleased  = "released"
	ReservationExpired   = "expired"
	ReservationReplaced  = "replaced"
)

// LicenseModel says how a product is licensed.
type LicenseModel struct {
	ID                 string
	DisplayName        string
	Type               string
	AllowedHostIDTypes []string
	RequestID          string
	CreateTime         time.Time
	// ExtraActivations are allowed beyond a line item's quantity.
	ExtraActivations int64
	OverdraftAllowed bool
	Defaults         LicenseDefaults
	Policies         LifecyclePolicies
}

// LicenseDefaults are the attributes every license of a model carries (SPEC ENT-2).
type LicenseDefaults struct {
	BorrowHours  int      `json:"borrow_hours,omitempty"`
	TSOK         bool     `json:"ts_ok,omitempty"`
	VMPlatforms  string   `json:"vm_platforms,omitempty"`
	TimeZone     string   `json:"time_zone,omitempty"`
	Platforms    []string `json:"platforms,omitempty"`
	Issuer       string   `json:"issuer,omitempty"`
	Notice       string   `json:"notice,omitempty"`
	Serial       string   `json:"serial,omitempty"`
	VendorString string   `json:"vendor_string,omitempty"`
	UseServer    bool     `json:"use_server,omitempty"`
}

// LifecyclePolicy bounds one lifecycle operation per fulfillment: Allowed times per
// Period (a term like "1Y"; empty: over the fulfillment's life).
type LifecyclePolicy struct {
	Allowed int    `json:"allowed"`
	Period  string `json:"period,omitempty"`
}

// LifecyclePolicies are a model's return, repair and rehost policies.
type LifecyclePolicies struct {
	Returns LifecyclePolicy `json:"returns"`
	Repairs LifecyclePolicy `json:"repairs"`
	Rehosts LifecyclePolicy `json:"rehosts"`
}

// Feature is a licensed capability of a product.
type Feature struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Product is a sellable item of the catalog.
type Product struct {
	ID                string
	DisplayName       string
	Version           string
	Description       string
	LicenseTechnology string
	Features          []Feature
	LicenseModelIDs   []string
	PartNumbers       []string
	ProductLineID     string
	RequestID         string
	CreateTime        time.Time
	// Kind is ProductStandard or ProductMaintenance; a maintenance product maintains
	// MaintainedProductIDs.
	Kind                 string
	MaintainedProductIDs []string
	UpgradeTo, UpsellTo  []string
	UpdateTime           time.Time
}

// Product kinds.
const (
	ProductStandard    = "standard"
	ProductMaintenance = "maintenance"
)

// LineItem is one activatable right of an entitlement.
type LineItem struct {
	ActivationID   string
	EntitlementID  string
	ProductID      string
	LicenseModelID string
	AccountID      string
	State          string
	OrderLine      string
	Quantity       int64
	Fulfilled      int64
	StartTime      *time.Time
	ExpireTime     *time.Time
	// ProductLineID is the product's line, read with the line item.
	ProductLineID string
	// StartAtFirstActivation leaves StartTime empty until the first activation.
	StartAtFirstActivation bool
	// ExpireAfter is a term ("1Y", "6M 15d") from the start; ExpireTime follows from
	// it once the start is known.
	ExpireAfter                                          string
	MaintenanceExpireTime, VersionDate, VersionStartTime *time.Time
	Attributes                                           map[string]string
	// ExtraActivations and OverdraftAllowed come from the license model when the line
	// item is created (SPEC ENT-2, ENT-5).
	ExtraActivations int64
	OverdraftAllowed bool
	// Type is one of the LineType values; Supersedes names the line item an upgrade,
	// upsell or renewal replaces, and SupersededIDs the earlier ones of its chain,
	// newest first (filled by lists).
	Type          string
	Supersedes    string
	SupersededIDs []string
	CreateTime    time.Time
	// TransferFrom is the account a transfer awaiting approval came from.
	TransferFrom string
}

// Line item types (SPEC ENT-4).
const (
	LineStandard     = "standard"
	LineUpgrade      = "upgrade"
	LineUpsell       = "upsell"
	LineRenewal      = "renewal"
	LineMaintenance  = "maintenance"
	LineSubscription = "subscription"
)

// chained line types replace an earlier line item.
var chained = []string{LineUpgrade, LineUpsell, LineRenewal}

// Available is what may still be fulfilled without overdraft (never negative: a
// cancelled line keeps counting seats still out).
func (li LineItem) Available() int64 {
	if li.Quantity == 0 {
		return 0
	}
	return max(li.Quantity+li.ExtraActivations-li.Fulfilled, 0)
}

// Overdraft is how many seats are out beyond quantity and extra activations.
func (li LineItem) Overdraft() int64 {
	if li.Quantity == 0 {
		return 0
	}
	return max(li.Fulfilled-li.Quantity-li.ExtraActivations, 0)
}

// Entitlement groups the line items of one order for one account.
type Entitlement struct {
	ID           string
	AccountID    string
	OrderID      string
	ShipToEmails []string
	LineItems    []LineItem
	CreateTime   time.Time
	// ServicePlanID is set for a service plan assignment.
	ServicePlanID string
	// Origin is what made the entitlement (OriginOrder, OriginServicePlan, …).
	Origin string
	// BulkID is the bulk entitlement a web register key was redeemed from.
	BulkID string
}

// Entitlement origins.
const (
	OriginOrder       = "order"
	OriginServicePlan = "service_plan"
	OriginTrial       = "trial"
	OriginSplit       = "split"
	OriginBulk        = "web_register_key"
)

// Reservation holds seats of a line item for another service.
type Reservation struct {
	ID           uuid.UUID
	ActivationID string
	Quantity     int64
	Holder       string
	State        string
	AccountID    string
	TenantID     string // set by the reconciler, which works across tenants
	// ExpireTime is when an unconfirmed reservation gives its seats back.
	ExpireTime time.Time
	// Start is the term start to record if this reservation starts the line item's
	// term (zero: now).
	Start time.Time
	// Replaces is the reservation whose seats this one takes over (a partial return);
	// ReplacedState is what a replaced reservation was before.
	Replaces      *uuid.UUID
	ReplacedState string
	// Applied is set when this call changed the seat count (not a replay).
	Applied bool
}

// ProductLine groups products.
type ProductLine struct {
	ID, DisplayName, Description, RequestID string
	CreateTime                              time.Time
}
