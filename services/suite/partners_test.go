package suite_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// TestPartnerTiers_ACC3: partner users create customer and partner accounts under
// their partner accounts, names are unique under one parent, and a partner sees only
// its tier.
func TestPartnerTiers_ACC3(t *testing.T) {
	env := suitetest.Start(t)
	api := rest{t: t, base: env.Suite.GatewayURL}
	createTenant(api.as(env.OperatorToken), "tier-co", "Admin-Password-1")
	admin := api.as(login(api, "tier-co", "admin", "Admin-Password-1"))
	for _, a := range []struct{ id, typ string }{{"DIST", "ACCOUNT_TYPE_PARTNER"}, {"OTHER", "ACCOUNT_TYPE_PARTNER"}, {"DIRECT", "ACCOUNT_TYPE_CUSTOMER"}} {
		admin.ok("POST", "/v1/accounts", map[string]any{"account_id": a.id, "account": map[string]any{"display_name": a.id, "type": a.typ}})
	}
	admin.ok("POST", "/v1/users", map[string]any{"password": "Pam-Password-1", "user": map[string]any{
		"username": "pam", "first_name": "Pam", "last_name": "P", "email": "pam@dist.example",
		"memberships": []any{map[string]any{"account": "accounts/DIST", "roles": []string{"partner_admin"}}},
	}})
	pam := api.as(login(api, "tier-co", "pam", "Pam-Password-1"))

	// Creating under the partner account: a reseller tier and a customer below it.
	pam.ok("POST", "/v1/accounts", map[string]any{"account_id": "RESELLER", "parent": "accounts/DIST", "account": map[string]any{"display_name": "Reseller One", "type": "ACCOUNT_TYPE_PARTNER"}})
	pam.ok("POST", "/v1/accounts", map[string]any{"account_id": "SHOP", "parent": "accounts/RESELLER", "account": map[string]any{"display_name": "Corner Shop", "type": "ACCOUNT_TYPE_CUSTOMER"}})
	e := pam.refused(http.StatusConflict, "POST", "/v1/accounts", map[string]any{"parent": "accounts/RESELLER", "account": map[string]any{"display_name": "corner shop", "type": "ACCOUNT_TYPE_CUSTOMER"}})
	require.Equal(t, "NAME_TAKEN", e["reason"], "account names are unique under one parent")
	pam.ok("POST", "/v1/accounts", map[string]any{"parent": "accounts/DIST", "account": map[string]any{"display_name": "Corner Shop", "type": "ACCOUNT_TYPE_CUSTOMER"}})

	e = pam.refused(http.StatusBadRequest, "POST", "/v1/accounts", map[string]any{"account": map[string]any{"display_name": "Loose", "type": "ACCOUNT_TYPE_CUSTOMER"}})
	require.Equal(t, []string{"parent"}, fieldViolations(e), "partners create under a partner account")
	e = pam.refused(http.StatusBadRequest, "POST", "/v1/accounts", map[string]any{"parent": "accounts/SHOP", "account": map[string]any{"display_name": "Sub", "type": "ACCOUNT_TYPE_CUSTOMER"}})
	require.Equal(t, []string{"parent"}, fieldViolations(e), "not under a customer")
	e = pam.refused(http.StatusBadRequest, "POST", "/v1/accounts", map[string]any{"parent": "accounts/OTHER", "account": map[string]any{"display_name": "Poach", "type": "ACCOUNT_TYPE_CUSTOMER"}})
	require.Equal(t, []string{"parent"}, fieldViolations(e), "not under another partner")

	// The partner sees its tier only; the producer sees everything.
	pam.ok("GET", "/v1/accounts/SHOP", nil)
	pam.refused(http.StatusNotFound, "GET", "/v1/accounts/OTHER", nil)
	pam.refused(http.StatusNotFound, "GET", "/v1/accounts/DIRECT", nil)
	tree := childNames(pam.ok("GET", "/v1/accounts/DIST:tree", nil))
	require.Len(t, tree, 2)
	require.Contains(t, tree, "RESELLER")
	tier := collect(t, pam, "/v1/accounts", "accounts", "account_id", nil)
	require.Len(t, tier, 4, "DIST, RESELLER, SHOP and the second Corner Shop")

	// Partners staff the accounts of their tier.
	pam.ok("POST", "/v1/users", map[string]any{"password": "Shop-Password-1", "user": map[string]any{
		"username": "shopkeeper", "first_name": "S", "last_name": "K", "email": "s@shop.example",
		"memberships": []any{map[string]any{"account": "accounts/SHOP", "roles": []string{"customer_admin"}}},
	}})
	pam.refused(http.StatusBadRequest, "POST", "/v1/users", map[string]any{"password": "Nope-Password-1", "user": map[string]any{
		"username": "intruder", "first_name": "I", "last_name": "I", "email": "i@x.example",
		"memberships": []any{map[string]any{"account": "accounts/DIRECT", "roles": []string{"customer_admin"}}},
	}})
	admin.ok("GET", "/v1/accounts/SHOP", nil)
}

// TestNameWithheld_ACC3: an account the producer makes invisible to partners shows as
// "Name Withheld" to partner users who are not its members, drops out of their lists
// and searches, and cannot be changed by them; producers see it as it is.
func TestNameWithheld_ACC3(t *testing.T) {
	env := suitetest.Start(t)
	api := rest{t: t, base: env.Suite.GatewayURL}
	createTenant(api.as(env.OperatorToken), "hide-co", "Admin-Password-1")
	admin := api.as(login(api, "hide-co", "admin", "Admin-Password-1"))
	admin.ok("POST", "/v1/accounts", map[string]any{"account_id": "DIST", "account": map[string]any{"display_name": "Distributor", "type": "ACCOUNT_TYPE_PARTNER"}})
	admin.ok("POST", "/v1/users", map[string]any{"password": "Pam-Password-1", "user": map[string]any{
		"username": "pam", "first_name": "Pam", "last_name": "P", "email": "pam@dist.example",
		"memberships": []any{map[string]any{"account": "accounts/DIST", "roles": []string{"partner_admin"}}},
	}})
	pam := api.as(login(api, "hide-co", "pam", "Pam-Password-1"))
	pam.ok("POST", "/v1/accounts", map[string]any{"account_id": "SHOP", "parent": "accounts/DIST", "account": map[string]any{
		"display_name": "Corner Shop", "type": "ACCOUNT_TYPE_CUSTOMER", "description": "secret plans", "visible_to_partners": true,
	}})
	require.Equal(t, "Corner Shop", pam.ok("GET", "/v1/accounts/SHOP", nil)["display_name"])

	admin.ok("PATCH", "/v1/accounts/SHOP", map[string]any{"account": map[string]any{"visible_to_partners": false}, "update_mask": "visibleToPartners"})
	shop := pam.ok("GET", "/v1/accounts/SHOP", nil)
	require.Equal(t, "Name Withheld", shop["display_name"])
	require.Empty(t, shop["description"])
	tree := pam.ok("GET", "/v1/accounts/DIST:tree", nil)
	require.Equal(t, "Distributor", tree["account"].(map[string]any)["display_name"], "its own account keeps its name")
	require.Equal(t, "Name Withheld", tree["children"].([]any)[0].(map[string]any)["account"].(map[string]any)["display_name"])
	require.Equal(t, []string{"DIST"}, collect(t, pam, "/v1/accounts", "accounts", "account_id", nil))
	require.Empty(t, collect(t, pam, "/v1/accounts", "accounts", "account_id", url.Values{"filter": {`display_name = "Corner*"`}}))
	pam.refused(http.StatusNotFound, "PATCH", "/v1/accounts/SHOP", map[string]any{"account": map[string]any{"visible_to_partners": true}, "update_mask": "visibleToPartners"})
	require.Equal(t, "Corner Shop", admin.ok("GET", "/v1/accounts/SHOP", nil)["display_name"])
}
