package app

import (
	"slices"

	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
)

// Scope is which devices a caller sees (SPEC DEV-5). Reads of one device and lists
// both go by it; the store turns it into SQL for lists.
type Scope struct {
	// All: a tenant-wide principal sees every device of the tenant.
	All bool
	// Owners: devices owned by these accounts are seen (and managed).
	Owners []string
	// Holders: devices holding live seats of these accounts' line items are seen.
	Holders []string
}

// ScopeOf is the scope of a principal: the accounts it is a member of, and the
// accounts below them when its role has "view child devices"; partners also see the
// devices holding line items of the accounts of their tier.
func ScopeOf(p *commonpb.Principal) Scope {
	if p.GetTenantWide() {
		return Scope{All: true}
	}
	members := p.GetMemberAccountIds()
	if len(members) == 0 {
		members = p.GetAccountIds()
	}
	s := Scope{Owners: slices.Clone(members), Holders: slices.Clone(members)}
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
		if slices.Contains(s.Holders, m.AccountID) {
			return true
		}
	}
	return false
}

// Owns reports whether the scope owns d: full control (SPEC DEV-3).
func (s Scope) Owns(d Device) bool {
	return s.All || (d.AccountID != "" && slices.Contains(s.Owners, d.AccountID))
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

// Present prepares a device read for the caller: on a device the scope does not own,
// other accounts' activation IDs are masked to their last three characters and a
// foreign owner's name is withheld (SPEC DEV-5).
func Present(s Scope, d Device) Device {
	if s.Owns(d) {
		return d
	}
	if d.AccountID != "" {
		d.OwnerName = NameWithheld
	}
	mappings := make([]Mapping, len(d.Mappings))
	for i, m := range d.Mappings {
		if !slices.Contains(s.Holders, m.AccountID) {
			m.ActivationID, m.AccountID, m.Masked = MaskID(m.ActivationID), "", true
		}
		mappings[i] = m
	}
	d.Mappings = mappings
	return d
}

// MaskID masks all but the last three characters of an activation ID.
func MaskID(id string) string {
	r := []rune(id)
	if len(r) <= 3 {
		return id
	}
	for i := range r[:len(r)-3] {
		r[i] = '*'
	}
	return string(r)
}
