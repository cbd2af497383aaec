package app

import (
	"context"
	"net/mail"
	"slices"
	"time"

	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/ids"
)

// OrderLine is one line of an incoming order.
type OrderLine struct {
	LineNumber     string
	ProductID      string
	LicenseModelID string
	Quantity       int64
	StartTime      *time.Time
	ExpireTime     *time.Time
}

// Order is what an order system pushes in (SPEC ENT-3).
type Order struct {
	OrderID      string
	AccountID    string
	ShipToEmails []string
	Lines        []OrderLine
}

// CreateOrder turns an order into an entitlement with one deployed line item per
// order line. Resending an order returns the entitlement it created the first time.
func (a *App) CreateOrder(ctx context.Context, o Order) (Entitlement, error) {
	var v errs.Violations
	if !ids.ValidResourceID(o.OrderID) {
		v.Add("order_id", "must be 1-64 letters, digits, '.', '_' or '-'")
	}
	for i, e := range o.ShipToEmails {
		if _, err := mail.ParseAddress(e); err != nil {
			v.Add(fieldIndex("ship_to_emails", i, ""), "is not an email address")
		}
	}
	if len(o.Lines) == 0 {
		v.Add("lines", "an order needs at least one line")
	}
	lineNumbers := map[string]bool{}
	for i, l := range o.Lines {
		if l.LineNumber == "" {
			v.Add(fieldIndex("lines", i, "line_number"), "is required")
		} else if lineNumbers[l.LineNumber] {
			v.Add(fieldIndex("lines", i, "line_number"), "line %q appears twice", l.LineNumber)
		}
		lineNumbers[l.LineNumber] = true
		v.Require(fieldIndex("lines", i, "product"), l.ProductID)
		v.Require(fieldIndex("lines", i, "license_model"), l.LicenseModelID)
		if l.Quantity < 0 {
			v.Add(fieldIndex("lines", i, "quantity"), "must not be negative")
		}
		if l.StartTime != nil && l.ExpireTime != nil && !l.ExpireTime.After(*l.StartTime) {
			v.Add(fieldIndex("lines", i, "expire_time"), "must be after start_time")
		}
	}
	if err := v.Err(); err != nil {
		return Entitlement{}, err
	}

	tenant := authz.MustTenant(ctx)
	if o.AccountID != "" { // without one, the end customer registers with the IDs later
		exists, err := a.accounts.AccountExists(ctx, o.AccountID)
		if err != nil {
			return Entitlement{}, err
		}
		if !exists {
			return Entitlement{}, errs.Invalid("sold_to", "account %q does not exist", o.AccountID)
		}
	}
	e := Entitlement{ID: ids.New("ENT", 3), AccountID: o.AccountID, OrderID: o.OrderID, ShipToEmails: o.ShipToEmails}
	for i, l := range o.Lines {
		p, err := a.store.GetProduct(ctx, tenant, l.ProductID)
		if errs.IsKind(err, errs.KindNotFound) {
			return Entitlement{}, errs.Invalid(fieldIndex("lines", i, "product"), "product %q does not exist", l.ProductID)
		}
		if err != nil {
			return Entitlement{}, err
		}
		if !slices.Contains(p.LicenseModelIDs, l.LicenseModelID) {
			return Entitlement{}, errs.Invalid(fieldIndex("lines", i, "license_model"), "product %q is not sold under license model %q", l.ProductID, l.LicenseModelID)
		}
		e.LineItems = append(e.LineItems, LineItem{
			ActivationID: ids.New("ACT", 4), ProductID: l.ProductID, LicenseModelID: l.LicenseModelID,
			State: StateDeployed, OrderLine: l.LineNumber, Quantity: l.Quantity, StartTime: l.StartTime, ExpireTime: l.ExpireTime,
		})
	}
	got, created, err := a.store.CreateEntitlement(ctx, tenant, e)
	if created {
		ordersIngested.Add(ctx, 1, tenantAttr(tenant))
	}
	return got, err
}

// GetEntitlement reads an entitlement the caller may see.
func (a *App) GetEntitlement(ctx context.Context, id string) (Entitlement, error) {
	e, err := a.store.GetEntitlement(ctx, authz.MustTenant(ctx), id)
	if err != nil {
		return e, err
	}
	if err := visible(ctx, authz.LineItemRef{AccountID: e.AccountID, EntitlementID: e.ID}, "entitlement", id); err != nil {
		return Entitlement{}, err
	}
	// Users limited to product lines see only those line items (SPEC ACC-16), and no
	// entitlement that has none of them.
	p, _ := authz.FromContext(ctx)
	all := len(e.LineItems) > 0
	e.LineItems = slices.DeleteFunc(e.LineItems, func(li LineItem) bool { return !authz.InProductLines(p, li.ProductLineID) })
	if all && len(e.LineItems) == 0 {
		return Entitlement{}, errs.NotFound("entitlement", id)
	}
	return e, nil
}

// GetLineItem reads a line item the caller may see.
func (a *App) GetLineItem(ctx context.Context, activationID string) (LineItem, error) {
	li, err := a.store.GetLineItem(ctx, authz.MustTenant(ctx), activationID)
	if err != nil {
		return li, err
	}
	return li, visible(ctx, li.ref(), "line item", activationID)
}

// CheckProductAccess reports whether one of the accounts is entitled to the product.
func (a *App) CheckProductAccess(ctx context.Context, productID string, accountIDs []string) (bool, error) {
	if productID == "" {
		return false, errs.Invalid("product", "is required")
	}
	if len(accountIDs) == 0 {
		return false, nil
	}
	return a.store.HasProductAccess(ctx, authz.MustTenant(ctx), productID, accountIDs)
}

// CountAccountEntitlements counts the entitlements the accounts hold.
func (a *App) CountAccountEntitlements(ctx context.Context, accountIDs []string) (int64, error) {
	return a.store.CountEntitlements(ctx, authz.MustTenant(ctx), accountIDs)
}

func (li LineItem) ref() authz.LineItemRef {
	return authz.LineItemRef{AccountID: li.AccountID, EntitlementID: li.EntitlementID, ActivationID: li.ActivationID, ProductLineID: li.ProductLineID}
}
