package app

import (
	"context"
	"time"

	"github.com/tessera-dev/tessera/services/license/licfile"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/filter"
)

// Host is a host an account activated for and what it holds now.
type Host struct {
	HostID, Kind, AccountID string
	Fulfillments, Seats     int64
	FirstUse, LastUse       time.Time
}

// HostLicenses are a host's live licenses.
type HostLicenses struct {
	HostID       string
	Fulfillments []Fulfillment
	Consolidated []ConsolidatedLicense
}

// canSeeAccount reports whether the caller may see an account's hosts: tenant-wide, or
// a member of it; sessions of one entitlement or line item see no host list.
func canSeeAccount(ctx context.Context, accountID string) bool {
	p, _ := authz.FromContext(ctx)
	if p.GetScopeEntitlementId() != "" || p.GetScopeActivationId() != "" {
		return false
	}
	return authz.CanSeeLineItem(p, authz.LineItemRef{AccountID: accountID})
}

// ListHosts lists an account's hosts (SPEC LIC-10).
func (a *App) ListHosts(ctx context.Context, accountID string, q filter.Query) ([]Host, string, error) {
	if !canSeeAccount(ctx, accountID) {
		return nil, "", errs.NotFound("account", accountID)
	}
	hosts, next, err := a.store.ListHosts(ctx, authz.MustTenant(ctx), accountID, q)
	if err != nil || len(hosts) > 0 {
		return hosts, next, err
	}
	// An empty page is the one answer that could hide a misspelt account: ask the
	// account service only then.
	if exists, err := a.accounts.AccountExists(ctx, accountID); err != nil || !exists {
		if err == nil {
			err = errs.NotFound("account", accountID)
		}
		return nil, "", err
	}
	return nil, "", nil
}

// GetHostLicenses returns a host's live licenses and its consolidated files.
func (a *App) GetHostLicenses(ctx context.Context, accountID, hostID string) (HostLicenses, error) {
	if !canSeeAccount(ctx, accountID) {
		return HostLicenses{}, errs.NotFound("account", accountID)
	}
	h, err := licfile.ParseHostID(hostID, licfile.Rules{RelaxIP: true})
	if err != nil {
		return HostLicenses{}, hostIDInvalid("host_id", err)
	}
	tenant := authz.MustTenant(ctx)
	if known, err := a.store.HostKnown(ctx, tenant, accountID, h.String()); err != nil || !known {
		if err == nil {
			err = errs.NotFound("host", h.String())
		}
		return HostLicenses{}, err
	}
	live, err := a.store.LiveOf(ctx, tenant, accountID, "", h.String())
	if err != nil {
		return HostLicenses{}, err
	}
	out := HostLicenses{HostID: h.String(), Fulfillments: live}
	seen := map[string]bool{}
	for _, f := range live {
		if f.ConsolidatedID == "" || seen[f.ConsolidatedID] {
			continue
		}
		seen[f.ConsolidatedID] = true
		c, err := a.store.GetConsolidated(ctx, tenant, f.ConsolidatedID)
		if err != nil {
			return HostLicenses{}, err
		}
		out.Consolidated = append(out.Consolidated, c)
	}
	return out, nil
}
