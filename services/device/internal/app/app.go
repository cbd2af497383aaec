// Package app holds the device service's use cases: devices and the line-item
// seats mapped to them.
package app

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/services/license/licfile"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/ids"
	"github.com/tessera-dev/tessera/services/platform/quantity"
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

// Store is the persistence the use cases need.
type Store interface {
	CreateDevice(ctx context.Context, tenant string, d Device) (Device, error)
	GetDevice(ctx context.Context, tenant, id string) (Device, error)
	// MappingByRequest returns the mapping a request ID produced and its device.
	MappingByRequest(ctx context.Context, tenant, requestID string) (deviceID string, m Mapping, found bool, err error)
	// AddMapping stores m, commits its seat claim and writes its event in one
	// transaction.
	AddMapping(ctx context.Context, tenant, deviceID string, m Mapping) error
	CountDevices(ctx context.Context, tenant string, accountIDs []string) (int64, error)
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
	Confirm(ctx context.Context, id uuid.UUID)
	Abort(ctx context.Context, tenantID string, id uuid.UUID)
}

// App is the device service's use cases.
type App struct {
	store    Store
	accounts Accounts
	seats    Seats
	rules    HostRules
}

// New returns the use cases.
func New(store Store, accounts Accounts, seats Seats, rules HostRules) *App {
	return &App{store: store, accounts: accounts, seats: seats, rules: rules}
}

// CreateDevice validates and stores a device of an account the caller may act for.
func (a *App) CreateDevice(ctx context.Context, d Device) (Device, error) {
	var v errs.Violations
	d.ID = ids.Resolve(&v, "device_id", authz.MustTenant(ctx), "DEV", d.ID, d.RequestID)
	v.Require("device.account", d.AccountID)
	v.Require("device.display_name", d.DisplayName)
	if d.Type == "" {
		v.Add("device.type", "is required")
	}
	if d.HostID != "" {
		relax, err := a.rules.RelaxIP(ctx)
		if err != nil {
			return Device{}, err
		}
		h, err := licfile.ParseHostID(d.HostID, licfile.Rules{RelaxIP: relax})
		if err != nil {
			v.Add("device.host_id", "%s", err)
		}
		d.HostID = h.String()
	}
	if err := v.Err(); err != nil {
		return Device{}, err
	}
	p, _ := authz.FromContext(ctx)
	if !authz.CanActFor(p, d.AccountID) {
		return Device{}, errs.Invalid("device.account", "account %q does not exist", d.AccountID)
	}
	ok, err := a.accounts.AccountExists(ctx, d.AccountID)
	if err != nil {
		return Device{}, err
	}
	if !ok {
		return Device{}, errs.Invalid("device.account", "account %q does not exist", d.AccountID)
	}
	return a.store.CreateDevice(ctx, p.GetTenantId(), d)
}

// GetDevice reads a device the caller may see.
func (a *App) GetDevice(ctx context.Context, id string) (Device, error) {
	p, _ := authz.FromContext(ctx)
	d, err := a.store.GetDevice(ctx, p.GetTenantId(), id)
	if err != nil {
		return d, err
	}
	if !authz.CanActFor(p, d.AccountID) {
		return Device{}, errs.NotFound("device", id)
	}
	return d, nil
}

// MapLineItem holds seats of a line item for a device (idempotent by request ID).
// The line item must belong to the device's account.
func (a *App) MapLineItem(ctx context.Context, deviceID, activationID string, count int64, requestID string) (Device, error) {
	var v errs.Violations
	v.Require("line_item", activationID)
	quantity.Check(&v, "quantity", count, 1)
	if len(requestID) > 128 {
		v.Add("request_id", "must be at most 128 characters")
	}
	if err := v.Err(); err != nil {
		return Device{}, err
	}
	d, err := a.GetDevice(ctx, deviceID)
	if err != nil {
		return Device{}, err
	}
	tenant := authz.MustTenant(ctx)
	// A replay is recognised before any seat is asked for: the device as mapped comes
	// back however full the line item is now (PLT-6).
	replayed := func() (bool, error) {
		on, prev, found, err := a.store.MappingByRequest(ctx, tenant, requestID)
		if err != nil || !found {
			return false, err
		}
		if on != deviceID || prev.ActivationID != activationID || prev.Quantity != count {
			return false, errs.Invalid("request_id", "was used before for another request")
		}
		return true, nil
	}
	if requestID == "" {
		requestID = ids.New("REQ", 4)
	} else if done, err := replayed(); err != nil || done {
		if err != nil {
			return Device{}, err
		}
		return a.store.GetDevice(ctx, tenant, deviceID)
	}
	m := Mapping{ActivationID: activationID, Quantity: count, RequestID: requestID, ClaimID: ids.FromKey(tenant, "device", requestID)}
	claim := seats.Claim{ID: m.ClaimID, TenantID: tenant, ActivationID: activationID, Quantity: count, AccountIDs: []string{d.AccountID}}
	owner, err := a.seats.Begin(ctx, claim)
	if err != nil {
		return Device{}, err
	}
	m.AccountID = owner
	if err := a.store.AddMapping(ctx, tenant, deviceID, m); err != nil {
		if done, derr := replayed(); derr == nil && done {
			return a.store.GetDevice(ctx, tenant, deviceID) // a concurrent retry won
		}
		a.seats.Abort(ctx, tenant, m.ClaimID)
		return Device{}, err
	}
	a.seats.Confirm(ctx, m.ClaimID)
	return a.store.GetDevice(ctx, tenant, deviceID)
}

// CountAccountDevices counts the devices the accounts own.
func (a *App) CountAccountDevices(ctx context.Context, accountIDs []string) (int64, error) {
	return a.store.CountDevices(ctx, authz.MustTenant(ctx), accountIDs)
}
