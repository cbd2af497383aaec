package suite_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// TestAuditTrail_PLT4: every change is recorded with who made it, through which
// token, and whether under impersonation; only producers read it, per tenant.
func TestAuditTrail_PLT4(t *testing.T) {
	env := suitetest.Start(t)
	api := rest{t: t, base: env.Suite.GatewayURL}
	op := api.as(env.OperatorToken)
	createTenant(op, "aud-co", "Admin-Password-1")
	createTenant(op, "aud-rival", "Admin-Password-2")
	session := api.ok("POST", "/v1/auth:login", map[string]any{"tenant_id": "aud-co", "username": "admin", "password": "Admin-Password-1"})
	admin := api.as(session["access_token"].(string))
	adminUser := session["user"].(map[string]any)["name"].(string)
	admin.ok("POST", "/v1/accounts", map[string]any{"account_id": "ACME", "account": map[string]any{"display_name": "Acme", "type": "ACCOUNT_TYPE_CUSTOMER"}})
	frank := admin.ok("POST", "/v1/users", map[string]any{"password": "Frank-Password-1", "user": map[string]any{
		"username": "frank", "first_name": "Frank", "last_name": "F", "email": "frank@acme.example",
		"memberships": []any{map[string]any{"account": "accounts/ACME", "roles": []string{"customer_admin"}}},
	}})
	// The admin acts as frank through an impersonated token and creates a user.
	imp := admin.ok("POST", "/v1/accessTokens", map[string]any{"access_token": map[string]any{"display_name": "as-frank", "description": "ticket 1", "created_for": frank["name"]}, "expires_in": "1h"})
	api.as(imp["token_value"].(string)).ok("POST", "/v1/users", map[string]any{"password": "Gus-Password-1", "user": map[string]any{
		"username": "gus", "first_name": "Gus", "last_name": "G", "email": "gus@acme.example",
		"memberships": []any{map[string]any{"account": "accounts/ACME", "roles": []string{"customer_user"}}},
	}})

	list := func(q url.Values) []map[string]any {
		var out []map[string]any
		for _, e := range admin.ok("GET", "/v1/auditEvents?"+q.Encode(), nil)["audit_events"].([]any) {
			out = append(out, e.(map[string]any))
		}
		return out
	}
	created := list(url.Values{"filter": {`subject = "tessera.account.account.created"`}})
	require.Len(t, created, 2, "HOME at tenant creation, then ACME")
	acme := created[1]
	require.Equal(t, adminUser, acme["actor"])
	require.NotEmpty(t, acme["token_id"], "the session the change came through")
	require.Contains(t, acme["payload_json"], `"account_id": "ACME"`)

	users := list(url.Values{"filter": {`subject:"user.created"`}, "order_by": {"time desc"}})
	require.Len(t, users, 3)
	gus := users[0]
	require.Contains(t, gus["payload_json"], `"username": "gus"`)
	require.Equal(t, true, gus["impersonated"], "made under an impersonated token")
	require.Equal(t, frank["name"], gus["actor"])
	require.Equal(t, adminUser, gus["impersonator"])
	require.Len(t, list(url.Values{"filter": {`impersonated = true`}}), 1)

	rival := api.as(login(api, "aud-rival", "admin", "Admin-Password-2"))
	for _, e := range rival.ok("GET", "/v1/auditEvents", nil)["audit_events"].([]any) {
		require.NotContains(t, e.(map[string]any)["payload_json"], "ACME", "another tenant's trail stays apart")
	}
	f := api.as(login(api, "aud-co", "frank", "Frank-Password-1"))
	f.refused(http.StatusForbidden, "GET", "/v1/auditEvents", nil)
}

// TestEntitlementAuditTrail_PLT4: catalog and order changes in the entitlement
// service are on its own trail, with who made them; only the producer of the tenant
// reads it.
func TestEntitlementAuditTrail_PLT4(t *testing.T) {
	env := suitetest.Start(t)
	api, admin := orderWorldIn(t, env)
	admin.ok("PATCH", "/v1/products/cad", map[string]any{"product": map[string]any{"description": "Computer-aided design"}, "update_mask": "description"})
	admin.ok("POST", "/v1/orders:batchCreate", map[string]any{"orders": []any{
		map[string]any{"order_id": "SO-A", "sold_to": "accounts/ACME", "lines": []any{line("1", "cad", 2)}},
	}})
	session := api.ok("POST", "/v1/auth:login", map[string]any{"tenant_id": "order-co", "username": "admin", "password": "Admin-Password-1"})
	me := session["user"].(map[string]any)["name"]

	trail := func(as rest, q url.Values) []map[string]any {
		return list(as, "/v1/services/entitlement/auditEvents", q, "audit_events")
	}
	products := trail(admin, url.Values{"filter": {`subject:"tessera.entitlement.product."`}})
	require.Len(t, products, 3, "cad and sim created, cad updated")
	require.Equal(t, "tessera.entitlement.product.updated", products[2]["subject"])
	require.Equal(t, me, products[2]["actor"])
	require.Contains(t, products[2]["payload_json"], `"id": "cad"`)
	require.Len(t, trail(admin, url.Values{"filter": {`subject = "tessera.entitlement.license_model.created"`}}), 1)
	orders := trail(admin, url.Values{"filter": {`subject = "tessera.entitlement.entitlement.created"`}, "order_by": {"time desc"}})
	require.Len(t, orders, 1)
	require.Contains(t, orders[0]["payload_json"], "SO-A")
	require.Empty(t, trail(admin, url.Values{"filter": {`time < 2000-01-01`}}))
	admin.refused(http.StatusBadRequest, "GET", "/v1/services/entitlement/auditEvents?filter=nope%3D1", nil)

	createTenant(api.as(env.OperatorToken), "order-rival", "Admin-Password-2")
	rival := api.as(login(api, "order-rival", "admin", "Admin-Password-2"))
	require.Empty(t, trail(rival, url.Values{"filter": {`subject:"product"`}}), "another tenant's trail stays apart")
	admin.ok("POST", "/v1/users", map[string]any{"password": "Carl-Password-1", "user": map[string]any{
		"username": "carl", "first_name": "Carl", "last_name": "C", "email": "carl@acme.example",
		"memberships": []any{map[string]any{"account": "accounts/ACME", "roles": []string{"customer_admin"}}},
	}})
	api.as(login(api, "order-co", "carl", "Carl-Password-1")).refused(http.StatusForbidden, "GET", "/v1/services/entitlement/auditEvents", nil)
}
