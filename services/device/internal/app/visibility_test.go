package app

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
)

// The accounts: PARENT → CHILD, OTHER unrelated, DIST (partner) → TIER. The device is
// CHILD's and holds line items of CHILD, PARENT, OTHER and TIER (the account check
// skipped, SPEC DEV-3), one of product "sim" in another product line.
var holdings = Device{ID: "dev", AccountID: "CHILD", OwnerName: "Child Inc", Mappings: []Mapping{
	{ActivationID: "ACT-CHILD-001", AccountID: "CHILD", ProductID: "cad", Quantity: 1},
	{ActivationID: "ACT-PARENT-02", AccountID: "PARENT", ProductID: "cad", Quantity: 2},
	{ActivationID: "ACT-OTHER-003", AccountID: "OTHER", ProductID: "cad", Quantity: 3},
	{ActivationID: "ACT-TIER-0004", AccountID: "TIER", ProductID: "cad", Quantity: 4},
	{ActivationID: "ACT-SIM-00005", AccountID: "PARENT", ProductID: "sim", Quantity: 5},
}}

func user(members, below []string, perms ...authz.Permission) *commonpb.Principal {
	p := &commonpb.Principal{Kind: commonpb.PrincipalKind_PRINCIPAL_KIND_USER, TenantId: "t", MemberAccountIds: members, AccountIds: append(append([]string{}, members...), below...)}
	for _, perm := range append(perms, authz.DevicesView) {
		p.Permissions = append(p.Permissions, string(perm))
	}
	return p
}

// shown lists a presented device's line items: the ID as shown, and "masked".
func shown(d Device) []string {
	var out []string
	for _, m := range d.Mappings {
		s := m.ActivationID
		if m.Masked {
			s += " masked"
			if m.AccountID != "" {
				s += " WITH ACCOUNT"
			}
		}
		out = append(out, s)
	}
	return out
}

// TestScopeMatrix_DEV5 goes through every kind of caller over a device holding line
// items of several accounts: who sees it, who owns it, what is masked.
func TestScopeMatrix_DEV5(t *testing.T) {
	partner := user([]string{"DIST"}, []string{"TIER"})
	partner.Partner = true
	partnerViewChild := user([]string{"DIST"}, []string{"TIER"}, authz.DevicesViewChild)
	partnerViewChild.Partner = true
	all := []string{"ACT-CHILD-001", "ACT-PARENT-02", "ACT-OTHER-003", "ACT-TIER-0004", "ACT-SIM-00005"}
	cases := []struct {
		name  string
		p     *commonpb.Principal
		scope func(*Scope) // what App.scope adds
		sees  bool
		owner string
		items []string
	}{
		{name: "producer", p: &commonpb.Principal{TenantWide: true}, sees: true, owner: "Child Inc", items: all},
		{name: "owner", p: user([]string{"CHILD"}, nil), sees: true, owner: "Child Inc", items: all},
		{name: "parent with view_child owns the child's device", p: user([]string{"PARENT"}, []string{"CHILD"}, authz.DevicesViewChild), sees: true, owner: "Child Inc", items: all},
		{
			name: "parent without view_child sees it as holder: its own and its sub-account's line items shown",
			p:    user([]string{"PARENT"}, []string{"CHILD"}), sees: true, owner: NameWithheld,
			items: []string{"ACT-CHILD-001", "ACT-PARENT-02", "**********003 masked", "**********004 masked", "ACT-SIM-00005"},
		},
		{
			name: "unrelated account holding a line item", p: user([]string{"OTHER"}, nil), sees: true, owner: NameWithheld,
			items: []string{"**********001 masked", "**********-02 masked", "ACT-OTHER-003", "**********004 masked", "**********005 masked"},
		},
		{name: "unrelated account holding nothing", p: user([]string{"NOBODY"}, nil)},
		{
			name: "partner sees devices holding its tier's line items", p: partner, sees: true, owner: NameWithheld,
			items: []string{"**********001 masked", "**********-02 masked", "**********003 masked", "ACT-TIER-0004", "**********005 masked"},
		},
		{
			name: "partner with view_child still only holds here", p: partnerViewChild, sees: true, owner: NameWithheld,
			items: []string{"**********001 masked", "**********-02 masked", "**********003 masked", "ACT-TIER-0004", "**********005 masked"},
		},
		{
			name: "activation ID session", p: &commonpb.Principal{Kind: commonpb.PrincipalKind_PRINCIPAL_KIND_ENTITLEMENT_KEY, ScopeActivationId: "ACT-OTHER-003"},
			sees: true, owner: NameWithheld,
			items: []string{"**********001 masked", "**********-02 masked", "ACT-OTHER-003", "**********004 masked", "**********005 masked"},
		},
		{name: "activation ID session of another line item", p: &commonpb.Principal{Kind: commonpb.PrincipalKind_PRINCIPAL_KIND_ENTITLEMENT_KEY, ScopeActivationId: "ACT-ELSEWHERE"}},
		{
			name: "entitlement ID session", p: &commonpb.Principal{Kind: commonpb.PrincipalKind_PRINCIPAL_KIND_ENTITLEMENT_KEY, ScopeEntitlementId: "ENT-1"},
			scope: func(s *Scope) { s.LineItems = []string{"ACT-TIER-0004", "ACT-SIM-00005"} }, sees: true, owner: NameWithheld,
			items: []string{"**********001 masked", "**********-02 masked", "**********003 masked", "ACT-TIER-0004", "ACT-SIM-00005"},
		},
		{
			name: "product-line limited owner never learns other lines", p: func() *commonpb.Principal {
				p := user([]string{"CHILD"}, nil)
				p.ProductLines = []string{"design"}
				return p
			}(),
			scope: func(s *Scope) { s.Products = []string{"cad"} }, sees: true, owner: "Child Inc",
			items: []string{"ACT-CHILD-001", "ACT-PARENT-02", "ACT-OTHER-003", "ACT-TIER-0004"},
		},
		{
			name: "product-line limited holder: a line item outside the lines does not make the device visible", p: func() *commonpb.Principal {
				p := user([]string{"PARENT"}, nil)
				p.ProductLines = []string{"simulation"}
				return p
			}(),
			scope: func(s *Scope) { s.Products = []string{"sim"} }, sees: true, owner: NameWithheld,
			items: []string{"ACT-SIM-00005"},
		},
		{
			name: "product-line limited holder whose lines the device holds nothing of", p: func() *commonpb.Principal {
				p := user([]string{"OTHER"}, nil)
				p.ProductLines = []string{"simulation"}
				return p
			}(),
			scope: func(s *Scope) { s.Products = []string{"sim"} },
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := ScopeOf(c.p)
			if c.scope != nil {
				c.scope(&s)
			}
			require.Equal(t, c.sees, s.Sees(holdings))
			if !c.sees {
				return
			}
			got := Present(s, holdings)
			require.Equal(t, c.owner, got.OwnerName)
			require.Equal(t, c.items, shown(got))
			require.Equal(t, c.owner != NameWithheld, s.Owns(holdings))
		})
	}
	require.Len(t, holdings.Mappings, 5, "Present leaves the stored device as it was")
	require.False(t, holdings.Mappings[2].Masked)
}

// TestScopeOfUnownedDevice_DEV5: an unowned device is seen by holders only and has
// no owner name to withhold.
func TestScopeOfUnownedDevice_DEV5(t *testing.T) {
	d := Device{ID: "loose", Mappings: []Mapping{{ActivationID: "ACT-OTHER-003", AccountID: "OTHER"}}}
	s := ScopeOf(user([]string{"OTHER"}, nil))
	require.True(t, s.Sees(d))
	require.False(t, s.Owns(d))
	require.Empty(t, Present(s, d).OwnerName)
	require.False(t, ScopeOf(user([]string{"CHILD"}, nil)).Sees(d))
}

func TestMaskID_DEV5(t *testing.T) {
	for in, want := range map[string]string{
		"ACT-1234-abc": "*********abc", "abcd": "*bcd", "abc": "***", "ab": "**", "": "", "ÄÖÜßé": "**Üßé",
	} {
		require.Equal(t, want, MaskID(in), in)
	}
}

// FuzzMaskID: a masked ID keeps its length in characters, shows at most its last
// three, and never the whole of an ID of three characters or fewer.
func FuzzMaskID(f *testing.F) {
	for _, s := range []string{"ACT-1234-abc", "abc", "", "ÄÖÜßé", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if !utf8.ValidString(id) {
			// The interceptor refuses invalid UTF-8 before any read; what MaskID does
			// with it is to keep the length in runes, as Go decodes them.
			id = strings.ToValidUTF8(id, "\uFFFD")
		}
		got := MaskID(id)
		r, g := []rune(id), []rune(got)
		require.Len(t, g, len(r))
		keep := 3
		if len(r) <= 3 {
			keep = 0
		}
		require.Equal(t, strings.Repeat("*", len(r)-keep), string(g[:len(r)-keep]))
		require.Equal(t, string(r[len(r)-keep:]), string(g[len(r)-keep:]))
	})
}
