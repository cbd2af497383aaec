// Package app holds the device service's use cases: devices and the line-item
// seats mapped to them.
package app

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/services/platform/seats"
)

// Device types (SPEC DEV-1).
const (
	TypeClient       = "client"
	TypeServer       = "server"
	TypeServedClient = "served_client"
)

// Device statuses: standalone devices and servers are active, returned or obsolete;
// served clients normal, served_returned, dropped or expired.
const (
	StatusActive         = "active"
	StatusReturned       = "returned"
	StatusObsolete       = "obsolete"
	StatusNormal         = "normal"
	StatusServedReturned = "served_returned"
	StatusDropped        = "dropped"
	StatusExpired        = "expired"
)

// Deployments of a license server.
const (
	DeploymentLocal = "local"
	DeploymentCloud = "cloud"
)

// Mapping is seats of a line item held by a device: one row per seat claim.
type Mapping struct {
	ID           uuid.UUID
	ActivationID string
	AccountID    string // the line item's account
	ProductID    string
	Quantity     int64
	RequestID    string
	ClaimID      uuid.UUID
	// ExpireAt is the override chosen when mapping (SPEC DEV-7); zero: none.
	ExpireAt time.Time
	// ConfiguredExpireAt is the line item's own expiry; zero: permanent.
	ConfiguredExpireAt time.Time
	Replaces           *uuid.UUID
	CreateTime         time.Time
	// Masked is set on reads for a caller who may not see the line item's ID.
	Masked bool
}

// Virtualization is what a hypervisor or container reports about a device's machine.
type Virtualization struct {
	Hypervisor     string `json:"hypervisor,omitempty"`
	Virtual        bool   `json:"virtual,omitempty"`
	VMName         string `json:"vm_name,omitempty"`
	VMUUID         string `json:"vm_uuid,omitempty"`
	PhysicalHostID string `json:"physical_host_id,omitempty"`
	ContainerID    string `json:"container_id,omitempty"`
}

// Device is a machine, appliance or license server licensed in the embedded style.
type Device struct {
	ID        string
	AccountID string // empty: unowned (SPEC DEV-4)
	// OwnerName is the owner's display name as the caller may see it ("Name
	// Withheld" otherwise); filled on reads.
	OwnerName         string
	DisplayName       string
	IDType            string
	HostID            string
	Type              string
	Status            string
	Deployment        string
	Model             string
	Series            string
	SiteName          string
	Notes             string
	DeviceUser        string
	BackupServerID    string
	PublisherIdentity string
	ServerID          string // served clients: the server they are reached through
	Attributes        map[string]string
	Virtualization    *Virtualization
	AdminPasswordSet  bool
	Sequence          int64
	RMANumber         string
	ReturnedTo        string
	ReturnTime        time.Time
	Mappings          []Mapping // summed per line item when read
	RequestID         string
	CreateTime        time.Time
	UpdateTime        time.Time
}

// Store is the persistence the use cases need: one Postgres store implements every
// area's interface.
type Store interface {
	DeviceStore
	IDTypeStore
	SettingsStore
	ImportStore
	MappingStore
	HistoryStore
}

// Accounts is what the service needs of the account service.
type Accounts interface {
	AccountExists(ctx context.Context, accountID string) (bool, error)
}

// HostRules are the tenant's host ID rules, kept by the license service.
type HostRules interface {
	RelaxIP(ctx context.Context) (bool, error)
}

// Seats is the seat-claim ledger (platform/seats).
type Seats interface {
	Begin(ctx context.Context, c seats.Claim) (string, error)
	BeginMany(ctx context.Context, cs []seats.Claim) []error
	Confirm(ctx context.Context, id uuid.UUID)
	ConfirmNow(ctx context.Context, id uuid.UUID)
	Abort(ctx context.Context, tenantID string, id uuid.UUID)
}

// Deps are what the use cases are built from.
type Deps struct {
	Store    Store
	Accounts Accounts
	Seats    Seats
	Rules    HostRules
	// Names and Catalog serve visibility (visibility.go); Products the license
	// preview (features.go); Users the device user check.
	Names    AccountNames
	Catalog  Catalog
	Products Products
	Users    Users
	// Entitlements reads line items and moves seats (SPEC DEV-6, DEV-8).
	Entitlements Entitlements
	// Now is the clock (tests set it); nil: time.Now.
	Now func() time.Time
}

// App is the device service's use cases.
type App struct {
	store    Store
	accounts Accounts
	seats    Seats
	rules    HostRules
	names    AccountNames
	users    Users
	products Products
	catalog  Catalog
	ent      Entitlements
	now      func() time.Time
}

// New returns the use cases.
func New(d Deps) *App {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &App{
		store: d.Store, accounts: d.Accounts, seats: d.Seats, rules: d.Rules, names: d.Names, catalog: d.Catalog,
		products: d.Products, users: d.Users, ent: d.Entitlements, now: d.Now,
	}
}
