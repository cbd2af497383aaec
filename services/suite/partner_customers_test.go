package suite_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// partnerWorld is a tenant with partner DIST (staffed by partner admin pam), a second
// partner OTHER, and a service plan "cad-seats" of product cad.
type partnerWorld struct {
	env             *suitetest.Env
	api, admin, pam rest
}

func newPartnerWorld(t *testing.T) partnerWorld {
	env := suitetest.Start(t)
	api := rest{t: t, base: env.Suite.GatewayURL}
	createTenant(api.as(env.OperatorToken), "plan-co", "Admin-Password-1")
	createTenant(api.as(env.OperatorToken), "plan-rival", "Admin-Password-2")
	admin := api.as(login(api, "plan-co", "admin", "Admin-Password-1"))
	for _, id := range []string{"DIST", "OTHER"} {
		admin.ok("POST", "/v1/accounts", map[string]any{"account_id": id, "account": map[string]any{"display_name": id, "type": "ACCOUNT_TYPE_PARTNER"}})
	}
	admin.ok("POST", "/v1/users", map[string]any{"password": "Pam-Password-1", "user": map[string]any{
		"username": "pam", "first_name": "Pam", "last_name": "P", "email": "pam@dist.example",
		"memberships": []any{map[string]any{"account": "accounts/DIST", "roles": []string{"partner_admin"}}},
	}})
	admin.ok("POST", "/v1/licenseModels", map[string]any{"license_model_id": "floating", "license_model": map[string]any{"display_name": "Floating", "type": "LICENSE_MODEL_TYPE_FLOATING_COUNTED", "allowed_host_id_types": []string{"HOSTNAME"}}})
	admin.ok("POST", "/v1/products", map[string]any{"product_id": "cad", "product": map[string]any{
		"display_name": "CAD", "version": "1.0", "license_technology": "LICENSE_TECHNOLOGY_CERTIFICATE",
		"features": []any{map[string]any{"name": "cad", "version": "1.0"}}, "license_models": []string{"licenseModels/floating"},
	}})
	admin.ok("POST", "/v1/servicePlans", map[string]any{"service_plan_id": "cad-seats", "service_plan": map[string]any{
		"display_name": "CAD seats", "product": "products/cad", "license_model": "licenseModels/floating", "unit": "seat",
	}})
	return partnerWorld{env: env, api: api, admin: admin, pam: api.as(login(api, "plan-co", "pam", "Pam-Password-1"))}
}

func customerBody(name, email string) map[string]any {
	return map[string]any{
		"account_name": name, "company": name + " GmbH", "city": "Berlin", "state": "BE",
		"admin_first_name": "Ada", "admin_last_name": "Admin", "admin_email": email,
		"emergency_contact_email": "oncall@" + name + ".example",
	}
}

// TestPartnerCustomers_ACC15: a partner creates a customer with its administrator and
// service plans in one call; the plans become the customer's entitlements; the
// account-creation email carries a temporary password; retries create nothing twice;
// bad input changes nothing.
func TestPartnerCustomers_ACC15(t *testing.T) {
	w := newPartnerWorld(t)
	pam := w.pam

	e := pam.refused(http.StatusBadRequest, "POST", "/v1/accounts/DIST/customers", map[string]any{"admin_email": "nope", "emergency_contact_email": "nope", "service_plans": []any{map[string]any{"units": 0}}})
	require.ElementsMatch(t, []string{"account_name", "admin_first_name", "admin_last_name", "admin_email", "emergency_contact_email", "service_plans[0].service_plan", "service_plans[0].units"}, fieldViolations(e))
	body := customerBody("acme", "ada@acme.example")
	body["service_plans"] = []any{map[string]any{"service_plan": "servicePlans/nope", "units": 5}}
	e = pam.refused(http.StatusBadRequest, "POST", "/v1/accounts/DIST/customers", body)
	require.Equal(t, []string{"service_plans[0].service_plan"}, fieldViolations(e))
	e = pam.refused(http.StatusBadRequest, "POST", "/v1/accounts/OTHER/customers", customerBody("acme", "ada@acme.example"))
	require.Equal(t, []string{"parent"}, fieldViolations(e), "not under another partner's account")
	past := customerBody("acme", "ada@acme.example")
	past["send_email_time"] = time.Now().Add(-time.Hour).Format(time.RFC3339)
	e = pam.refused(http.StatusBadRequest, "POST", "/v1/accounts/DIST/customers", past)
	require.Equal(t, []string{"send_email_time"}, fieldViolations(e))
	require.Len(t, collect(t, w.admin, "/v1/accounts", "accounts", "account_id", nil), 3, "HOME, DIST, OTHER: nothing was created")

	start := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
	body = customerBody("acme", "ada@acme.example")
	body["request_id"] = "crm-4711"
	body["service_plans"] = []any{
		map[string]any{"service_plan": "servicePlans/cad-seats", "units": 25, "start_time": start.Format(time.RFC3339)},
		map[string]any{"service_plan": "servicePlans/cad-seats", "units": 5},
	}
	before := mailCount(t, w.env)
	got := pam.ok("POST", "/v1/accounts/DIST/customers", body)
	again := pam.ok("POST", "/v1/accounts/DIST/customers", body)
	require.Equal(t, got["account"], again["account"], "a retry returns the first customer")
	require.Equal(t, got["entitlements"], again["entitlements"], "and assigns no plan twice")
	acc := got["account"].(map[string]any)
	require.Equal(t, "acme", acc["display_name"])
	require.Equal(t, "acme GmbH", acc["company"])
	require.Equal(t, "Berlin", acc["address"].(map[string]any)["city"])
	require.Equal(t, "oncall@acme.example", acc["emergency_contact_email"])
	require.Equal(t, []string{"customer_admin"}, rolesIn(w.admin, got["administrator"].(map[string]any)["name"].(string), acc["name"].(string)))

	ents := got["entitlements"].([]any)
	require.Len(t, ents, 2)
	first := pam.ok("GET", "/v1/"+ents[0].(string), nil)
	require.Equal(t, "servicePlans/cad-seats", first["service_plan"])
	require.Equal(t, acc["name"], first["account"])
	li := first["line_items"].([]any)[0].(map[string]any)
	require.EqualValues(t, "25", li["quantity"])
	require.Equal(t, start.Format(time.RFC3339), li["start_time"])

	// The account-creation email went out at once with a temporary password.
	pw := mailedPassword(t, w.env, "ada@acme.example", before)
	require.Contains(t, w.env.WaitForMail(t, "ada@acme.example"), `Your account "acme"`)
	w.api.as(login(w.api, "plan-co", "ada@acme.example", pw)).ok("POST", "/v1/auth:changePassword", map[string]any{"old_password": pw, "new_password": "Ada-Password-1", "confirm_password": "Ada-Password-1"})
	require.Equal(t, before+1, mailCount(t, w.env), "one email, retry or not")

	// Assigning a plan later; a customer may not, another tenant sees nothing.
	later := map[string]any{"account": acc["name"], "units": 3, "request_id": "later-1"}
	ent := pam.ok("POST", "/v1/servicePlans/cad-seats:assign", later)
	require.Equal(t, ent["name"], pam.ok("POST", "/v1/servicePlans/cad-seats:assign", later)["name"])
	adaNow := w.api.as(login(w.api, "plan-co", "ada@acme.example", "Ada-Password-1"))
	adaNow.refused(http.StatusForbidden, "POST", "/v1/servicePlans/cad-seats:assign", later)
	pam.refused(http.StatusNotFound, "POST", "/v1/servicePlans/cad-seats:assign", map[string]any{"account": "accounts/OTHER", "units": 3})
	taken := customerBody("acme-2", "ada@acme.example")
	e = pam.refused(http.StatusConflict, "POST", "/v1/accounts/DIST/customers", taken)
	require.Equal(t, "user", e["metadata"].(map[string]any)["resource"], "the administrator's login is taken")
	e = pam.refused(http.StatusConflict, "POST", "/v1/accounts/DIST/customers", customerBody("acme", "other@acme.example"))
	require.Equal(t, "NAME_TAKEN", e["reason"])

	rival := w.api.as(login(w.api, "plan-rival", "admin", "Admin-Password-2"))
	rival.refused(http.StatusNotFound, "POST", "/v1/servicePlans/cad-seats:assign", map[string]any{"account": acc["name"], "units": 3})
	rival.refused(http.StatusBadRequest, "POST", "/v1/accounts/DIST/customers", customerBody("sneaky", "s@x.example"))
	adaNow.refused(http.StatusForbidden, "POST", "/v1/accounts/DIST/customers", customerBody("sneaky", "s@x.example"))
}

// TestScheduledAccountEmail_ACC15: an account-creation email scheduled for later is
// not sent early, survives a restart of every service, and goes out once its time
// comes.
func TestScheduledAccountEmail_ACC15(t *testing.T) {
	w := newPartnerWorld(t)
	body := customerBody("later", "lou@later.example")
	body["send_email_time"] = time.Now().Add(3 * time.Second).Format(time.RFC3339Nano)
	before := mailCount(t, w.env)
	got := w.pam.ok("POST", "/v1/accounts/DIST/customers", body)
	require.NotEmpty(t, got["email_time"])
	time.Sleep(500 * time.Millisecond) // several worker rounds
	require.Equal(t, before, mailCount(t, w.env), "not before its time")
	w.api.refused(http.StatusUnauthorized, "POST", "/v1/auth:login", map[string]any{"tenant_id": "plan-co", "username": "lou@later.example", "password": "anything-at-all-1"})

	w.env.Restart(t)
	api := rest{t: t, base: w.env.Suite.GatewayURL}
	pw := mailedPassword(t, w.env, "lou@later.example", before)
	login(api, "plan-co", "lou@later.example", pw)
	time.Sleep(300 * time.Millisecond)
	require.Equal(t, before+1, mailCount(t, w.env), "sent once")
}
