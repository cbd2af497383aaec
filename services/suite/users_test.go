package suite_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// TestUsers_ACC5_ACC6_ACC13: profile fields, contacts who cannot sign in, membership
// moves only between accounts of the user's type, and the list of administrators.
func TestUsers_ACC5_ACC6_ACC13(t *testing.T) {
	env := suitetest.Start(t)
	api := rest{t: t, base: env.Suite.GatewayURL}
	createTenant(api.as(env.OperatorToken), "usr-co", "Admin-Password-1")
	admin := api.as(login(api, "usr-co", "admin", "Admin-Password-1"))
	for _, a := range []struct{ id, typ string }{{"C1", "ACCOUNT_TYPE_CUSTOMER"}, {"C2", "ACCOUNT_TYPE_CUSTOMER"}, {"P1", "ACCOUNT_TYPE_PARTNER"}} {
		admin.ok("POST", "/v1/accounts", map[string]any{"account_id": a.id, "account": map[string]any{"display_name": "Account " + a.id, "type": a.typ}})
	}
	ida := admin.ok("POST", "/v1/users", map[string]any{"password": "Ida-Password-1", "user": map[string]any{
		"username": "ida", "first_name": "Ida", "last_name": "I", "email": "ida@c1.example", "phone": "+49 30 1234",
		"time_zone": "Europe/Berlin", "locale": "de-DE", "marketing_opt_in": true, "address": map[string]any{"city": "Berlin", "country": "DE"},
		"memberships": []any{map[string]any{"account": "accounts/C1", "roles": []string{"customer_admin"}}},
	}})
	require.Equal(t, "Europe/Berlin", ida["time_zone"])
	require.Equal(t, "Berlin", ida["address"].(map[string]any)["city"])
	e := admin.refused(http.StatusBadRequest, "POST", "/v1/users", map[string]any{"password": "Bad-Password-1", "user": map[string]any{
		"username": "bad", "first_name": "B", "last_name": "B", "email": "b@x.example", "time_zone": "Mars/Olympus", "locale": "not a locale",
		"memberships": []any{map[string]any{"account": "accounts/C1", "roles": []string{"customer_user"}}},
	}})
	require.ElementsMatch(t, []string{"user.time_zone", "user.locale"}, fieldViolations(e))

	// A contact never signs in.
	admin.ok("POST", "/v1/users", map[string]any{"password": "Cole-Password-1", "user": map[string]any{
		"username": "cole", "first_name": "Cole", "last_name": "C", "email": "cole@c1.example", "contact_only": true,
		"memberships": []any{map[string]any{"account": "accounts/C1", "roles": []string{"customer_user"}}},
	}})
	require.Equal(t, "LOGIN_NOT_ALLOWED", reason(loginAttempt(api, "usr-co", "cole", "Cole-Password-1")))

	// Updates: profile fields; memberships move between customer accounts only.
	name := "/v1/" + ida["name"].(string)
	u := admin.ok("PATCH", name, map[string]any{"user": map[string]any{"last_name": "Ivanova", "locale": "en-GB"}, "update_mask": "lastName,locale"})
	require.Equal(t, "Ivanova", u["last_name"])
	require.Equal(t, "ida", u["username"])
	u = admin.ok("PATCH", name, map[string]any{"user": map[string]any{"memberships": []any{
		map[string]any{"account": "accounts/C1", "roles": []string{"customer_admin"}}, map[string]any{"account": "accounts/C2", "roles": []string{"customer_user"}},
	}}, "update_mask": "memberships"})
	require.Len(t, u["memberships"], 2)
	e = admin.refused(http.StatusBadRequest, "PATCH", name, map[string]any{"user": map[string]any{"memberships": []any{
		map[string]any{"account": "accounts/P1", "roles": []string{"customer_user"}},
	}}, "update_mask": "memberships"})
	require.Equal(t, []string{"user.memberships[0].account"}, fieldViolations(e), "a customer user never moves to a partner account")
	e = admin.refused(http.StatusBadRequest, "PATCH", name, map[string]any{"user": map[string]any{"memberships": []any{}}, "update_mask": "memberships"})
	require.Equal(t, []string{"user.memberships"}, fieldViolations(e), "at least one account")
	e = admin.refused(http.StatusBadRequest, "PATCH", name, map[string]any{"user": map[string]any{"username": "renamed"}, "update_mask": "username"})
	require.Equal(t, []string{"update_mask"}, fieldViolations(e), "the user name is never editable")
	e = admin.refused(http.StatusBadRequest, "PATCH", name, map[string]any{"user": map[string]any{"email": "nope"}, "update_mask": "email"})
	require.Equal(t, []string{"user.email"}, fieldViolations(e))

	// Administrators of my accounts: ida administers C1; a C2 member sees nobody for C2.
	idaSession := api.as(login(api, "usr-co", "ida", "Ida-Password-1"))
	admins := idaSession.ok("GET", "/v1/administrators", nil)["administrators"].([]any)
	require.Len(t, admins, 1)
	first := admins[0].(map[string]any)
	require.Equal(t, "accounts/C1", first["account"])
	require.Equal(t, "ida@c1.example", first["email"])
	require.Equal(t, "Account C1", first["account_display_name"])
}

// TestUpdateAccount_ACC1: an account's fields change through a field mask; its ID and
// type do not; other partners' accounts cannot be reached.
func TestUpdateAccount_ACC1(t *testing.T) {
	env := suitetest.Start(t)
	api := rest{t: t, base: env.Suite.GatewayURL}
	createTenant(api.as(env.OperatorToken), "upd-co", "Admin-Password-1")
	admin := api.as(login(api, "upd-co", "admin", "Admin-Password-1"))
	admin.ok("POST", "/v1/accounts", map[string]any{"account_id": "ACME", "account": map[string]any{"display_name": "Acme", "type": "ACCOUNT_TYPE_CUSTOMER"}})
	a := admin.ok("PATCH", "/v1/accounts/ACME", map[string]any{"account": map[string]any{
		"display_name": "Acme GmbH", "visible_to_partners": false, "address": map[string]any{"city": "Köln", "country": "DE"}, "attributes": map[string]string{"tier": "gold"},
	}, "update_mask": "displayName,visibleToPartners,address,attributes"})
	require.Equal(t, "Acme GmbH", a["display_name"])
	require.Equal(t, "Köln", a["address"].(map[string]any)["city"])
	require.Equal(t, "gold", a["attributes"].(map[string]any)["tier"])
	require.Equal(t, false, a["visible_to_partners"], "false is written out too (issue 12, item 14)")
	e := admin.refused(http.StatusBadRequest, "PATCH", "/v1/accounts/ACME", map[string]any{"account": map[string]any{"type": "ACCOUNT_TYPE_PARTNER"}, "update_mask": "type"})
	require.Equal(t, []string{"update_mask"}, fieldViolations(e))
	e = admin.refused(http.StatusBadRequest, "PATCH", "/v1/accounts/ACME", map[string]any{"account": map[string]any{"display_name": ""}, "update_mask": "displayName"})
	require.Equal(t, []string{"account.display_name"}, fieldViolations(e))
	admin.refused(http.StatusNotFound, "PATCH", "/v1/accounts/NOPE", map[string]any{"account": map[string]any{"description": "x"}, "update_mask": "description"})
}

// TestRoleCatalogue_ACC7: roles are named sets of permissions, listed for users who
// manage others; every permission a role grants is one that something checks.
func TestRoleCatalogue_ACC7(t *testing.T) {
	env := suitetest.Start(t)
	api := rest{t: t, base: env.Suite.GatewayURL}
	createTenant(api.as(env.OperatorToken), "role-co", "Admin-Password-1")
	admin := api.as(login(api, "role-co", "admin", "Admin-Password-1"))
	roles := admin.ok("GET", "/v1/roles", nil)["roles"].([]any)
	ids := []string{}
	declared := map[string]bool{}
	for _, p := range allPermissions() {
		declared[p] = true
	}
	// Checked by the use cases, not at the RPC: impersonation by the token use cases,
	// the device ones by device visibility, claiming and updates.
	for _, p := range []authz.Permission{authz.TokensImpersonate, authz.DevicesViewChild, authz.DevicesClaim, authz.DevicesEditUser} {
		declared[string(p)] = true
	}
	for _, r := range roles {
		role := r.(map[string]any)
		ids = append(ids, role["role_id"].(string))
		for _, p := range role["permissions"].([]any) {
			require.True(t, declared[p.(string)], "role %s grants %s, which no RPC needs", role["role_id"], p)
		}
	}
	require.Equal(t, []string{"customer_admin", "customer_user", "partner_admin", "producer_admin"}, ids)
	require.Equal(t, true, roles[3].(map[string]any)["tenant_wide"])
}

// TestCustomRoles_ACC7: producers define roles of their own; holders act with exactly
// those permissions, and with the new set as soon as the role changes; nobody grants
// a role holding more than they have; built-in roles stay fixed; a held role cannot
// be deleted; another tenant neither sees nor uses them.
func TestCustomRoles_ACC7(t *testing.T) {
	env := suitetest.Start(t)
	api := rest{t: t, base: env.Suite.GatewayURL}
	createTenant(api.as(env.OperatorToken), "crole-co", "Admin-Password-1")
	createTenant(api.as(env.OperatorToken), "crole-rival", "Admin-Password-2")
	admin := api.as(login(api, "crole-co", "admin", "Admin-Password-1"))
	rival := api.as(login(api, "crole-rival", "admin", "Admin-Password-2"))
	admin.ok("POST", "/v1/accounts", map[string]any{"account_id": "ACME", "account": map[string]any{"display_name": "Acme", "type": "ACCOUNT_TYPE_CUSTOMER"}})

	e := admin.refused(http.StatusBadRequest, "POST", "/v1/roles", map[string]any{"role_id": "Bad Id", "role": map[string]any{"permissions": []string{"accounts.view", "tenants.create", "accounts.view"}}})
	require.ElementsMatch(t, []string{"role_id", "role.display_name", "role.permissions[1]", "role.permissions[2]"}, fieldViolations(e))
	e = admin.refused(http.StatusBadRequest, "POST", "/v1/roles", map[string]any{"role_id": "customer_admin", "role": map[string]any{"display_name": "x", "permissions": []string{"accounts.view"}}})
	require.Equal(t, []string{"role_id"}, fieldViolations(e))
	e = admin.refused(http.StatusBadRequest, "POST", "/v1/roles", map[string]any{"role_id": "sneaky", "role": map[string]any{"display_name": "x", "permissions": []string{"catalog.manage"}}})
	require.Equal(t, []string{"role.permissions[0]"}, fieldViolations(e), "producer-only permissions need a tenant-wide role")

	viewer := admin.ok("POST", "/v1/roles", map[string]any{"role_id": "auditor", "role": map[string]any{
		"display_name": "Auditor", "description": "reads accounts and users", "permissions": []string{"accounts.view", "users.view"},
	}})
	require.Equal(t, "roles/auditor", viewer["name"])
	admin.refused(http.StatusConflict, "POST", "/v1/roles", map[string]any{"role_id": "auditor", "role": map[string]any{"display_name": "Again", "permissions": []string{"accounts.view"}}})
	roles := admin.ok("GET", "/v1/roles", nil)["roles"].([]any)
	require.Len(t, roles, 5)
	require.Equal(t, "auditor", roles[4].(map[string]any)["role_id"])
	require.Equal(t, false, roles[4].(map[string]any)["built_in"])
	require.Len(t, rival.ok("GET", "/v1/roles", nil)["roles"], 4, "another tenant does not see it")

	admin.ok("POST", "/v1/users", map[string]any{"password": "Audi-Password-1", "user": map[string]any{
		"username": "audrey", "first_name": "Audrey", "last_name": "A", "email": "audrey@acme.example",
		"memberships": []any{map[string]any{"account": "accounts/ACME", "roles": []string{"auditor"}}},
	}})
	rival.refused(http.StatusBadRequest, "POST", "/v1/users", map[string]any{"password": "Rival-Password-1", "user": map[string]any{
		"username": "ruth", "first_name": "R", "last_name": "R", "email": "r@rival.example",
		"memberships": []any{map[string]any{"account": "accounts/HOME", "roles": []string{"auditor"}}},
	}})
	audrey := api.as(login(api, "crole-co", "audrey", "Audi-Password-1"))
	audrey.ok("GET", "/v1/accounts/ACME", nil)
	audrey.ok("GET", "/v1/users", nil)
	audrey.refused(http.StatusForbidden, "PATCH", "/v1/accounts/ACME", map[string]any{"account": map[string]any{"description": "x"}, "update_mask": "description"})
	audrey.refused(http.StatusForbidden, "POST", "/v1/roles", map[string]any{"role_id": "mine", "role": map[string]any{"display_name": "x", "permissions": []string{"accounts.view"}}})

	// Changing the role changes what its holders may do at once.
	admin.ok("PATCH", "/v1/roles/auditor", map[string]any{"role": map[string]any{"permissions": []string{"accounts.view", "accounts.manage"}}, "update_mask": "permissions"})
	require.Eventually(t, func() bool {
		return audrey.do("PATCH", "/v1/accounts/ACME", map[string]any{"account": map[string]any{"description": "x"}, "update_mask": "description"}).Status == http.StatusOK
	}, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, http.StatusForbidden, audrey.do("GET", "/v1/users", nil).Status)

	// A customer administrator cannot hand out a role holding more than they have.
	admin.ok("POST", "/v1/roles", map[string]any{"role_id": "power", "role": map[string]any{"display_name": "Power", "permissions": []string{"accounts.manage", "users.manage"}}})
	admin.ok("POST", "/v1/users", map[string]any{"password": "Cass-Password-1", "user": map[string]any{
		"username": "cass", "first_name": "Cass", "last_name": "C", "email": "cass@acme.example",
		"memberships": []any{map[string]any{"account": "accounts/ACME", "roles": []string{"customer_admin"}}},
	}})
	cass := api.as(login(api, "crole-co", "cass", "Cass-Password-1"))
	e = cass.refused(http.StatusBadRequest, "POST", "/v1/users", map[string]any{"password": "Pete-Password-1", "user": map[string]any{
		"username": "pete", "first_name": "P", "last_name": "P", "email": "p@acme.example",
		"memberships": []any{map[string]any{"account": "accounts/ACME", "roles": []string{"power"}}},
	}})
	require.Equal(t, []string{"user.memberships[0].roles"}, fieldViolations(e))

	// Built-in roles are fixed; a held role stays until nobody holds it.
	e = admin.refused(http.StatusConflict, "PATCH", "/v1/roles/customer_user", map[string]any{"role": map[string]any{"display_name": "x"}, "update_mask": "displayName"})
	require.Equal(t, "BUILT_IN_ROLE", e["reason"])
	e = admin.refused(http.StatusConflict, "DELETE", "/v1/roles/auditor", nil)
	require.Equal(t, "ROLE_IN_USE", e["reason"])
	admin.ok("DELETE", "/v1/roles/power", nil)
	admin.refused(http.StatusNotFound, "DELETE", "/v1/roles/power", nil)
	rival.refused(http.StatusNotFound, "DELETE", "/v1/roles/auditor", nil)
}
