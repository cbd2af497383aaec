package app

import (
	"context"

	"github.com/tessera-dev/tessera/services/license/licfile"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/ids"
)

// DeviceStore keeps devices.
type DeviceStore interface {
	CreateDevice(ctx context.Context, tenant string, d Device) (Device, error)
	GetDevice(ctx context.Context, tenant, id string) (Device, error)
	CountDevices(ctx context.Context, tenant string, accountIDs []string) (int64, error)
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

// GetDevice reads a device the caller may see, presented for the caller (SPEC DEV-5).
func (a *App) GetDevice(ctx context.Context, id string) (Device, error) {
	d, s, err := a.visibleDevice(ctx, id)
	if err != nil {
		return Device{}, err
	}
	return a.presentOne(ctx, s, d)
}

// CountAccountDevices counts the devices the accounts own.
func (a *App) CountAccountDevices(ctx context.Context, accountIDs []string) (int64, error) {
	return a.store.CountDevices(ctx, authz.MustTenant(ctx), accountIDs)
}
