package app

import (
	"context"
	"fmt"
	"net/mail"
	"slices"
	"strings"

	"github.com/google/uuid"

	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/filter"
)

// Scope is what part of a tenant's fulfillments a caller sees: all, those of some
// accounts (and product lines), or those of one entitlement or line item.
type Scope struct {
	All                         bool
	AccountIDs, ProductLines    []string
	EntitlementID, ActivationID string
}

func scopeOf(p *commonpb.Principal) Scope {
	switch {
	case p.GetKind() == commonpb.PrincipalKind_PRINCIPAL_KIND_ENTITLEMENT_KEY:
		return Scope{EntitlementID: p.GetScopeEntitlementId(), ActivationID: p.GetScopeActivationId()}
	case p.GetTenantWide():
		return Scope{All: true}
	}
	return Scope{AccountIDs: p.GetAccountIds(), ProductLines: p.GetProductLines()}
}

// ListFulfillments lists a page of the fulfillments the caller may see (SPEC LIC-7);
// full adds the license texts.
func (a *App) ListFulfillments(ctx context.Context, q filter.Query, full bool) ([]Fulfillment, string, error) {
	p, _ := authz.FromContext(ctx)
	scope := scopeOf(p)
	if !scope.All && len(scope.AccountIDs) == 0 && scope.EntitlementID == "" && scope.ActivationID == "" {
		return nil, "", nil
	}
	return a.store.ListFulfillments(ctx, p.GetTenantId(), scope, q, full)
}

const maxRecipients = 20

// EmailFulfillment has a fulfillment's license file mailed to the addresses as
// LicenseFile.lic, through the outbox (the account service's notifier sends it).
func (a *App) EmailFulfillment(ctx context.Context, id string, to []string) (uuid.UUID, error) {
	if err := checkRecipients(to); err != nil {
		return uuid.Nil, err
	}
	f, err := a.GetFulfillment(ctx, id)
	if err != nil {
		return uuid.Nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Hello,\n\nattached as LicenseFile.lic is license %s:\n\n", f.ID)
	fmt.Fprintf(&b, "  Activation ID: %s\n  Product:       %s %s\n  Hosts:         %s\n  Count:         %d (overdraft %d)\n  Support type:  %s\n",
		f.ActivationID, f.ProductID, f.Version, strings.Join(append(append([]string{}, f.ServerHostIDs...), f.NodeHostIDs...), ", "),
		f.Count(), f.Overdraft, strings.ToUpper(f.SupportType))
	return a.store.RecordFulfillmentEmail(ctx, authz.MustTenant(ctx), f.ID, to, "License "+f.ID, b.String(), f.LicenseText)
}

// checkRecipients validates the addresses a license is emailed to.
func checkRecipients(to []string) error {
	var v errs.Violations
	if len(to) == 0 || len(to) > maxRecipients {
		v.Add("to", "name 1 to %d addresses", maxRecipients)
	}
	for i, addr := range to {
		if parsed, err := mail.ParseAddress(addr); err != nil || parsed.Address != addr {
			v.Add(fmt.Sprintf("to[%d]", i), "is not a plain email address")
		} else if slices.Contains(to[:i], addr) {
			v.Add(fmt.Sprintf("to[%d]", i), "is listed twice")
		}
	}
	return v.Err()
}
