package app

import (
	"context"
	"slices"

	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
)

// Scope is which devices a caller sees and how much of each (SPEC DEV-5). Reads of
// one device and lists both go by it; the store turns it into SQL for lists (a
// device is listed when it matches Owners, Holders or LineItems, as Sees says).
type Scope struct {
	// All: a tenant-wide principal sees every device of the tenant, unmasked.
	All bool
	// Owners: devices owned by these accounts are seen and owned (full control,
	// nothing masked).
	Owners []string
	// Holders: devices holding live seats of these accounts' line items are seen.
	Holders []string
	// LineItems: a principal signed in with an entitlement or activation ID sees
	// the devices holding these line items (activation IDs), and nothing else.
	LineItems []string
	// Entitled: line items of these accounts are shown unmasked on devices the
	// caller does not own (the accounts the caller may act for).
	Entitled []string
	// Limited: the caller is held to product lines (SPEC ACC-16); Products are the
	// products of those lines. Line items of other products are left out of every
	// read, owned devices included, and do not make a device visible: a masked entry
	// would still tell that the line item exists and how many seats it holds.
	Limited  bool
	Products []string
	// Withheld: accounts hidden from partners (SPEC ACC-3) that a partner caller
	// is not a member of. Their devices stay seen as Owners says, but are not
	// owned: the owner's name and line items are withheld and nothing changes them.
	Withheld []string
}

// ScopeOf is the scope of a principal as far as the principal itself says:
//   - users see the devices their member accounts own or hold line items of; with
//     devices.view_child also those of the accounts below (the rest of account_ids);
//   - partners also see devices holding line items of the accounts of their tier
//     (account_ids: the accounts below the partner's), view_child or not;
//   - key principals (PRINCIPAL_KIND_ENTITLEMENT_KEY) see the devices holding their
//     line item; one signed in with an entitlement ID needs the entitlement's line
//     items, which App.scope fills in;
//   - product-line limited principals get Limited; App.scope fills in Products.
func ScopeOf(p *commonpb.Principal) Scope {
	if p.GetTenantWide() {
		return Scope{All: true}
	}
	if p.GetKind() == commonpb.PrincipalKind_PRINCIPAL_KIND_ENTITLEMENT_KEY {
		s := Scope{}
		if id := p.GetScopeActivationId(); id != "" {
			s.LineItems = []string{id}
		}
		return s
	}
	members := p.GetMemberAccountIds()
	if len(members) == 0 {
		members = p.GetAccountIds()
	}
	s := Scope{
		Owners: slices.Clone(members), Holders: slices.Clone(members), Entitled: slices.Clone(p.GetAccountIds()),
		Limited: len(p.GetProductLines()) > 0,
	}
	if authz.Has(p, authz.DevicesViewChild) {
		s.Owners = union(s.Owners, p.GetAccountIds())
		s.Holders = union(s.Holders, p.GetAccountIds())
	}
	if p.GetPartner() {
		s.Holders = union(s.Holders, p.GetAccountIds())
	}
	return s
}

// Sees reports whether the scope reaches d (its mappings read).
func (s Scope) Sees(d Device) bool {
	if s.All || (d.AccountID != "" && slices.Contains(s.Owners, d.AccountID)) {
		return true
	}
	for _, m := range d.Mappings {
		if s.inLines(m) && (slices.Contains(s.Holders, m.AccountID) || slices.Contains(s.LineItems, m.ActivationID)) {
			return true
		}
	}
	return false
}

// Owns reports whether the scope owns d: full control (SPEC DEV-3).
func (s Scope) Owns(d Device) bool {
	return s.All || (d.AccountID != "" && slices.Contains(s.Owners, d.AccountID) && !s.withholds(d.AccountID))
}

// withholds reports whether the account is hidden from the (partner) caller.
func (s Scope) withholds(accountID string) bool {
	return slices.Contains(s.Withheld, accountID)
}

// inLines reports whether a mapping's product is in the caller's product lines.
func (s Scope) inLines(m Mapping) bool {
	return s.All || !s.Limited || slices.Contains(s.Products, m.ProductID)
}

// showsLineItem reports whether the caller reads a line item of d unmasked.
func (s Scope) showsLineItem(d Device, m Mapping) bool {
	return s.Owns(d) || slices.Contains(s.Entitled, m.AccountID) || slices.Contains(s.LineItems, m.ActivationID)
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// NameWithheld stands for an owner the caller may not see.
const NameWithheld = "Name Withheld"

// Present prepares a device read for the caller: line items outside the caller's
// product lines are left out; on a device the scope does not own, line items of
// accounts the caller is not entitled to see have their activation ID masked to the
// last three characters and their account emptied, the owner's name is withheld
// (SPEC DEV-5) and the device user, a person of the owner's, is left out. The owner
// sees everything.
func Present(s Scope, d Device) Device {
	mappings := make([]Mapping, 0, len(d.Mappings))
	for _, m := range d.Mappings {
		if !s.inLines(m) {
			continue
		}
		if !s.showsLineItem(d, m) {
			m = maskMapping(m)
		}
		mappings = append(mappings, m)
	}
	d.Mappings = mappings
	if !s.Owns(d) {
		d.DeviceUser = ""
		if d.AccountID != "" {
			d.OwnerName = NameWithheld
		}
	}
	return d
}

func maskMapping(m Mapping) Mapping {
	m.ActivationID, m.AccountID, m.Masked = MaskID(m.ActivationID), "", true
	return m
}

// MaskID masks all but the last three characters of an activation ID; an ID of
// three characters or fewer is masked whole, since its end is all of it.
func MaskID(id string) string {
	r := []rune(id)
	keep := 3
	if len(r) <= keep {
		keep = 0
	}
	for i := range r[:len(r)-keep] {
		r[i] = '*'
	}
	return string(r)
}

// Catalog is what visibility needs of the entitlement service.
type Catalog interface {
	// EntitlementLineItems are the activation IDs of an entitlement's line items.
	EntitlementLineItems(ctx context.Context, entitlementID string) ([]string, error)
	// ProductsInLines are the IDs of the products in the product lines.
	ProductsInLines(ctx context.Context, productLines []string) ([]string, error)
}

// AccountNames is what presenting needs of the account service: display names by
// account ID, asked for once per page.
type AccountNames interface {
	Names(ctx context.Context, ids []string) (map[string]string, error)
	// HiddenFromPartners are the tenant's accounts not visible to partners (SPEC
	// ACC-3), one lookup for every account.
	HiddenFromPartners(ctx context.Context) (map[string]bool, error)
}

// scope is the request's caller's full scope: ScopeOf, with what the principal
// names by reference (an entitlement, product lines) looked up.
func (a *App) scope(ctx context.Context) (Scope, error) {
	p, _ := authz.FromContext(ctx)
	s := ScopeOf(p)
	if e := p.GetScopeEntitlementId(); e != "" && p.GetKind() == commonpb.PrincipalKind_PRINCIPAL_KIND_ENTITLEMENT_KEY {
		ids, err := a.catalog.EntitlementLineItems(ctx, e)
		if err != nil {
			return Scope{}, err
		}
		s.LineItems = ids
	}
	if s.Limited {
		products, err := a.catalog.ProductsInLines(ctx, p.GetProductLines())
		if err != nil {
			return Scope{}, err
		}
		s.Products = products
	}
	if p.GetPartner() {
		withheld, err := a.withheld(ctx, p)
		if err != nil {
			return Scope{}, err
		}
		s.Withheld = withheld
		s.Entitled = slices.DeleteFunc(s.Entitled, s.withholds)
	}
	return s, nil
}

// withheld are the accounts of a partner principal hidden from partners that it is
// not a member of (SPEC ACC-3): the account service withholds their names and
// refuses changes to them, and so does the device service.
func (a *App) withheld(ctx context.Context, p *commonpb.Principal) ([]string, error) {
	if !p.GetPartner() || p.GetTenantWide() {
		return nil, nil
	}
	hidden, err := a.names.HiddenFromPartners(ctx)
	if err != nil || len(hidden) == 0 {
		return nil, err
	}
	var out []string
	for _, id := range p.GetAccountIds() {
		if hidden[id] && !slices.Contains(p.GetMemberAccountIds(), id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// present prepares devices read for the caller (Present), fills in the names of
// the owners the caller sees, with one names lookup for the whole list, and shows
// seats of superseded line items under the newest of their chain (NewestOfChains).
// Every read that answers with devices goes through it.
func (a *App) present(ctx context.Context, s Scope, list []Device) ([]Device, error) {
	var owners []string
	seen := map[string]bool{}
	for _, d := range list {
		if d.AccountID != "" && !seen[d.AccountID] && s.Owns(d) {
			seen[d.AccountID] = true
			owners = append(owners, d.AccountID)
		}
	}
	names := map[string]string{}
	if len(owners) > 0 {
		var err error
		if names, err = a.names.Names(ctx, owners); err != nil {
			return nil, err
		}
	}
	out := make([]Device, len(list))
	for i, d := range list {
		d.OwnerName = names[d.AccountID]
		var err error
		if out[i], err = a.NewestOfChains(ctx, Present(s, d)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// visibleDevice reads a device the caller sees, as stored, with the caller's scope;
// NotFound when the caller does not see it (whether it exists is not told). Answers
// go through present.
func (a *App) visibleDevice(ctx context.Context, id string) (Device, Scope, error) {
	d, err := a.store.GetDevice(ctx, authz.MustTenant(ctx), id)
	if err != nil {
		return Device{}, Scope{}, err
	}
	s, err := a.scope(ctx)
	if err != nil {
		return Device{}, Scope{}, err
	}
	if !s.Sees(d) {
		return Device{}, Scope{}, errs.NotFound("device", id)
	}
	return d, s, nil
}

// presentOne is present for a single device.
func (a *App) presentOne(ctx context.Context, s Scope, d Device) (Device, error) {
	out, err := a.present(ctx, s, []Device{d})
	if err != nil {
		return Device{}, err
	}
	return out[0], nil
}
