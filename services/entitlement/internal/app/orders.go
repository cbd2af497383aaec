package app

import (
	"context"
	"net/mail"
	"slices"
	"time"

	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/duration"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/filter"
	"github.com/tessera-dev/tessera/services/platform/ids"
)

// OrderLine is one line of an incoming order.
type OrderLine struct {
	LineNumber                                           string
	ProductID                                            string
	LicenseModelID                                       string
	Quantity                                             int64
	StartTime                                            *time.Time
	ExpireTime                                           *time.Time
	StartAtFirstActivation                               bool
	ExpireAfter                                          string
	MaintenanceExpireTime, VersionDate, VersionStartTime *time.Time
	Attributes                                           map[string]string
	// Type is a line type ("" for standard); Supersedes the line item an upgrade,
	// upsell or renewal replaces.
	Type, Supersedes string
	// Draft makes a new line item start as a draft (SPEC ENT-4); amendments ignore it.
	Draft bool
}

// Order is what an order system pushes in (SPEC ENT-3).
type Order struct {
	OrderID      string
	AccountID    string
	ShipToEmails []string
	Lines        []OrderLine
}

// MaxBatchLines bounds the lines of one ingestion call.
const MaxBatchLines = 1000

// CreateOrder ingests one order (see IngestOrders).
func (a *App) CreateOrder(ctx context.Context, o Order) (Entitlement, error) {
	out, err := a.ingest(ctx, []Order{o}, "")
	if err != nil {
		return Entitlement{}, err
	}
	return out[0], nil
}

// IngestOrders turns orders into entitlements, all or none, in one transaction:
// per order ID and line number a new line becomes a deployed line item, the same line
// again changes nothing, and a changed quantity amends the line item (0 cancels it).
func (a *App) IngestOrders(ctx context.Context, orders []Order) ([]Entitlement, error) {
	return a.ingest(ctx, orders, "orders")
}

// ingest validates and stores orders; field names start with list[i]. when list is
// set (a batch), and are bare for a single order.
func (a *App) ingest(ctx context.Context, orders []Order, list string) ([]Entitlement, error) {
	field := func(i int, f string) string {
		if list == "" {
			return f
		}
		return fieldIndex(list, i, f)
	}
	var v errs.Violations
	if len(orders) == 0 {
		v.Add(list, "send at least one order")
	}
	lines, seen := 0, map[string]bool{}
	for i, o := range orders {
		lines += len(o.Lines)
		checkOrder(&v, o, func(f string) string { return field(i, f) })
		if seen[o.OrderID] {
			v.Add(field(i, "order_id"), "order %q appears twice in the batch", o.OrderID)
		}
		seen[o.OrderID] = true
	}
	if lines > MaxBatchLines {
		v.Add(list, "at most %d lines per call, got %d", MaxBatchLines, lines)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}

	tenant := authz.MustTenant(ctx)
	products := map[string]Product{}
	accounts := map[string]bool{}
	ents := make([]Entitlement, len(orders))
	for i, o := range orders {
		if o.AccountID != "" && !accounts[o.AccountID] { // without one, the end customer registers later
			exists, err := a.accounts.AccountExists(ctx, o.AccountID)
			if err != nil {
				return nil, err
			}
			if !exists {
				return nil, errs.Invalid(field(i, "sold_to"), "account %q does not exist", o.AccountID)
			}
			accounts[o.AccountID] = true
		}
		e := Entitlement{ID: ids.New("ENT", 3), AccountID: o.AccountID, OrderID: o.OrderID, ShipToEmails: o.ShipToEmails, Origin: OriginOrder}
		for j, l := range o.Lines {
			lf := func(f string) string { return field(i, fieldIndex("lines", j, f)) }
			p, ok := products[l.ProductID]
			if !ok {
				var err error
				p, err = a.store.GetProduct(ctx, tenant, l.ProductID)
				if errs.IsKind(err, errs.KindNotFound) {
					return nil, errs.Invalid(lf("product"), "product %q does not exist", l.ProductID)
				}
				if err != nil {
					return nil, err
				}
				products[l.ProductID] = p
			}
			if !slices.Contains(p.LicenseModelIDs, l.LicenseModelID) {
				return nil, errs.Invalid(lf("license_model"), "product %q is not sold under license model %q", l.ProductID, l.LicenseModelID)
			}
			li := LineItem{
				ActivationID: ids.New("ACT", 4), ProductID: l.ProductID, LicenseModelID: l.LicenseModelID,
				State: map[bool]string{false: StateDeployed, true: StateDraft}[l.Draft], OrderLine: l.LineNumber, Quantity: l.Quantity, StartTime: l.StartTime, ExpireTime: l.ExpireTime,
				StartAtFirstActivation: l.StartAtFirstActivation, ExpireAfter: l.ExpireAfter, MaintenanceExpireTime: l.MaintenanceExpireTime,
				VersionDate: l.VersionDate, VersionStartTime: l.VersionStartTime, Attributes: l.Attributes,
			}
			if l.Type == "" {
				li.Type = LineStandard
			} else {
				li.Type = l.Type
			}
			li.Supersedes = l.Supersedes
			if l.Supersedes != "" {
				if err := a.checkSupersedes(ctx, tenant, o, l, p, lf); err != nil {
					return nil, err
				}
			}
			if l.ExpireAfter != "" && l.StartTime != nil {
				li.ExpireTime = duration.TermEnd(l.ExpireAfter, *l.StartTime)
			}
			e.LineItems = append(e.LineItems, li)
		}
		ents[i] = e
	}
	got, created, err := a.store.UpsertOrders(ctx, tenant, ents)
	if err != nil {
		// Name the order the store refused, in the caller's terms.
		if e, ok := errs.As(err); ok && e.Metadata["order"] != "" {
			for i, o := range orders {
				if o.OrderID == e.Metadata["order"] {
					return nil, errs.InvalidReason(e.Reason, field(i, e.Metadata["field"]), "%s", e.Message)
				}
			}
		}
		return nil, err
	}
	if created > 0 {
		a.counters.ordersIngested.Add(ctx, int64(created), tenantAttr(tenant))
	}
	return got, nil
}

// checkSupersedes checks the line item an upgrade, upsell or renewal replaces: it
// exists, belongs to the order's account, and relates to the new product as the type
// says. The store refuses to supersede a line item twice.
func (a *App) checkSupersedes(ctx context.Context, tenant string, o Order, l OrderLine, newProduct Product, lf func(string) string) error {
	old, err := a.store.GetLineItem(ctx, tenant, l.Supersedes)
	if errs.IsKind(err, errs.KindNotFound) || (err == nil && old.AccountID != o.AccountID) {
		return errs.Invalid(lf("supersedes"), "line item %q is not one of the sold-to account's", l.Supersedes)
	}
	if err != nil {
		return err
	}
	oldProduct, err := a.store.GetProduct(ctx, tenant, old.ProductID)
	if err != nil {
		return err
	}
	related := map[string]bool{
		LineUpgrade: slices.Contains(oldProduct.UpgradeTo, newProduct.ID),
		LineUpsell:  slices.Contains(oldProduct.UpsellTo, newProduct.ID),
		LineRenewal: oldProduct.ID == newProduct.ID,
	}
	if !related[l.Type] {
		return errs.Invalid(lf("product"), "%s is not a product %s of line item %s can become (%s)", newProduct.ID, l.Type, old.ActivationID, old.ProductID)
	}
	return nil
}

// checkOrder collects an order's violations, fields named by field.
func checkOrder(v *errs.Violations, o Order, field func(string) string) {
	if !ids.ValidResourceID(o.OrderID) {
		v.Add(field("order_id"), "must be 1-64 letters, digits, '.', '_' or '-'")
	}
	for i, e := range o.ShipToEmails {
		if _, err := mail.ParseAddress(e); err != nil {
			v.Add(field(fieldIndex("ship_to_emails", i, "")), "is not an email address")
		}
	}
	if len(o.Lines) == 0 {
		v.Add(field("lines"), "an order needs at least one line")
	}
	lineNumbers := map[string]bool{}
	for i, l := range o.Lines {
		lf := func(f string) string { return field(fieldIndex("lines", i, f)) }
		if l.LineNumber == "" {
			v.Add(lf("line_number"), "is required")
		} else if lineNumbers[l.LineNumber] {
			v.Add(lf("line_number"), "line %q appears twice", l.LineNumber)
		}
		lineNumbers[l.LineNumber] = true
		v.Require(lf("product"), l.ProductID)
		v.Require(lf("license_model"), l.LicenseModelID)
		if l.Quantity < 0 || l.Quantity > 1_000_000_000 {
			v.Add(lf("quantity"), "must be between 0 and 1000000000")
		}
		if l.StartAtFirstActivation && l.StartTime != nil {
			v.Add(lf("start_time"), "give a start time or start at first activation, not both")
		}
		if l.ExpireAfter != "" {
			if _, err := duration.Parse(l.ExpireAfter); err != nil {
				v.Add(lf("expire_after"), "%v", err)
			}
			if l.ExpireTime != nil {
				v.Add(lf("expire_after"), "give an expiry date or a term, not both")
			}
		}
		if l.StartTime != nil && l.ExpireTime != nil && !l.ExpireTime.After(*l.StartTime) {
			v.Add(lf("expire_time"), "must be after start_time")
		}
		if l.VersionStartTime != nil && l.VersionDate != nil && l.VersionDate.Before(*l.VersionStartTime) {
			v.Add(lf("version_date"), "must not be before version_start_time")
		}
		if len(l.Attributes) > 50 {
			v.Add(lf("attributes"), "at most 50 attributes")
		}
		switch {
		case l.Type != "" && !slices.Contains([]string{LineStandard, LineUpgrade, LineUpsell, LineRenewal, LineMaintenance, LineSubscription}, l.Type):
			v.Add(lf("type"), "unknown line type %q", l.Type)
		case slices.Contains(chained, l.Type) && l.Supersedes == "":
			v.Add(lf("supersedes"), "an %s names the line item it replaces", l.Type)
		case !slices.Contains(chained, l.Type) && l.Supersedes != "":
			v.Add(lf("supersedes"), "only upgrades, upsells and renewals replace a line item")
		}
	}
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

// LineItemScope limits a line item list to what the caller may see: nothing is
// limited for tenant-wide callers.
type LineItemScope struct {
	All                         bool
	AccountIDs, ProductLines    []string
	EntitlementID, ActivationID string
}

// scopeOf is what a caller may list.
func scopeOf(ctx context.Context) (string, LineItemScope, bool) {
	p, _ := authz.FromContext(ctx)
	scope := LineItemScope{All: p.GetTenantWide()}
	switch {
	case p.GetKind() == commonpb.PrincipalKind_PRINCIPAL_KIND_ENTITLEMENT_KEY:
		scope.EntitlementID, scope.ActivationID = p.GetScopeEntitlementId(), p.GetScopeActivationId()
		if scope.EntitlementID == "" && scope.ActivationID == "" {
			return "", scope, false
		}
	case !scope.All:
		scope.AccountIDs, scope.ProductLines = p.GetAccountIds(), p.GetProductLines()
	}
	return p.GetTenantId(), scope, true
}

// ListLineItems lists a page of the line items the caller may see; chains show
// their newest line item unless includeSuperseded.
func (a *App) ListLineItems(ctx context.Context, q filter.Query, includeSuperseded bool) ([]LineItem, string, error) {
	tenant, scope, ok := scopeOf(ctx)
	if !ok {
		return nil, "", nil
	}
	return a.store.ListLineItems(ctx, tenant, scope, q, includeSuperseded)
}

// ListEntitlements lists a page of the entitlements the caller may see, with the
// line items the caller may see (SPEC PLT-2). A session of one line item lists none.
func (a *App) ListEntitlements(ctx context.Context, q filter.Query) ([]Entitlement, string, error) {
	tenant, scope, ok := scopeOf(ctx)
	if !ok || (scope.ActivationID != "" && scope.EntitlementID == "") {
		return nil, "", nil
	}
	list, next, err := a.store.ListEntitlements(ctx, tenant, scope, q)
	if err != nil {
		return nil, "", err
	}
	p, _ := authz.FromContext(ctx)
	for i := range list {
		list[i].LineItems = slices.DeleteFunc(list[i].LineItems, func(li LineItem) bool { return !authz.InProductLines(p, li.ProductLineID) })
	}
	return list, next, nil
}
