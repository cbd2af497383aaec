package suite_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// TestTrials_ACC19: a user picks trials and one of their accounts; each becomes an
// entitlement that expires after the trial's duration, leaves the user's list, cannot
// be registered twice, and the user is told by email.
func TestTrials_ACC19(t *testing.T) {
	env := suitetest.Start(t)
	api := rest{t: t, base: env.Suite.GatewayURL}
	createTenant(api.as(env.OperatorToken), "trial-co", "Admin-Password-1")
	createTenant(api.as(env.OperatorToken), "trial-rival", "Admin-Password-2")
	admin := api.as(login(api, "trial-co", "admin", "Admin-Password-1"))
	for _, id := range []string{"ACME", "OTHER"} {
		admin.ok("POST", "/v1/accounts", map[string]any{"account_id": id, "account": map[string]any{"display_name": id, "type": "ACCOUNT_TYPE_CUSTOMER"}})
	}
	admin.ok("POST", "/v1/licenseModels", map[string]any{"license_model_id": "node", "license_model": map[string]any{"display_name": "Node", "type": "LICENSE_MODEL_TYPE_NODELOCKED_UNCOUNTED", "allowed_host_id_types": []string{"HOSTNAME"}}})
	admin.ok("POST", "/v1/products", map[string]any{"product_id": "cad", "product": map[string]any{
		"display_name": "CAD", "version": "1.0", "license_technology": "LICENSE_TECHNOLOGY_CERTIFICATE",
		"features": []any{map[string]any{"name": "cad", "version": "1.0"}}, "license_models": []string{"licenseModels/node"},
	}})
	e := admin.refused(http.StatusBadRequest, "POST", "/v1/trials", map[string]any{"trial": map[string]any{"part_number": "bad part", "product": "products/cad", "quantity": 0}})
	require.ElementsMatch(t, []string{"trial.part_number", "trial.display_name", "trial.license_model", "trial.quantity", "trial.duration_days"}, fieldViolations(e))
	for pn, days := range map[string]int{"CAD-TRIAL-30": 30, "CAD-TRIAL-7": 7} {
		admin.ok("POST", "/v1/trials", map[string]any{"trial": map[string]any{
			"part_number": pn, "display_name": pn, "product": "products/cad", "license_model": "licenseModels/node", "quantity": 1, "duration_days": days,
		}})
	}
	admin.ok("POST", "/v1/users", map[string]any{"password": "Tina-Password-1", "user": map[string]any{
		"username": "tina", "first_name": "Tina", "last_name": "T", "email": "tina@acme.example",
		"memberships": []any{map[string]any{"account": "accounts/ACME", "roles": []string{"customer_admin"}}},
	}})
	tina := api.as(login(api, "trial-co", "tina", "Tina-Password-1"))
	available := func() []string {
		var out []string
		for _, tr := range tina.ok("GET", "/v1/trials:available", nil)["trials"].([]any) {
			out = append(out, tr.(map[string]any)["part_number"].(string))
		}
		return out
	}
	require.Equal(t, []string{"CAD-TRIAL-30", "CAD-TRIAL-7"}, available())

	e = tina.refused(http.StatusBadRequest, "POST", "/v1/trials:register", map[string]any{"part_numbers": []string{"CAD-TRIAL-7"}, "account": "accounts/OTHER"})
	require.Equal(t, []string{"account"}, fieldViolations(e), "not one of her accounts")
	e = tina.refused(http.StatusBadRequest, "POST", "/v1/trials:register", map[string]any{"part_numbers": []string{"CAD-TRIAL-7", "NOPE"}, "account": "accounts/ACME"})
	require.Equal(t, []string{"part_numbers[1]"}, fieldViolations(e))
	require.Len(t, available(), 2, "a refused batch registers nothing")

	before := mailCount(t, env)
	got := tina.ok("POST", "/v1/trials:register", map[string]any{"part_numbers": []string{"CAD-TRIAL-7"}, "account": "accounts/ACME"})
	ent := got["entitlements"].([]any)[0].(map[string]any)
	require.Equal(t, "accounts/ACME", ent["account"])
	li := ent["line_items"].([]any)[0].(map[string]any)
	start, err := time.Parse(time.RFC3339Nano, li["start_time"].(string))
	require.NoError(t, err)
	end, err := time.Parse(time.RFC3339Nano, li["expire_time"].(string))
	require.NoError(t, err)
	require.Equal(t, 7*24*time.Hour, end.Sub(start))
	require.Equal(t, []string{"CAD-TRIAL-30"}, available(), "a registered trial leaves the list")
	require.Contains(t, env.WaitForMail(t, "To: <tina@acme.example>", "CAD-TRIAL-7"), "registered for the trials")
	require.Equal(t, before+1, mailCount(t, env))
	e = tina.refused(http.StatusBadRequest, "POST", "/v1/trials:register", map[string]any{"part_numbers": []string{"CAD-TRIAL-7"}, "account": "accounts/ACME"})
	require.Equal(t, []string{"part_numbers[0]"}, fieldViolations(e), "no second trial")
	tina.ok("POST", "/v1/lineItems/"+li["activation_id"].(string)+":activate", map[string]any{"host_id": "HOSTNAME=try", "quantity": 1})

	rival := api.as(login(api, "trial-rival", "admin", "Admin-Password-2"))
	rival.refused(http.StatusBadRequest, "POST", "/v1/trials:register", map[string]any{"part_numbers": []string{"CAD-TRIAL-30"}, "account": "accounts/ACME"})
	key := api.ok("POST", "/v1/auth:signInWithKey", map[string]any{"tenant_id": "trial-co", "key": ent["entitlement_id"]})["access_token"].(string)
	api.as(key).refused(http.StatusForbidden, "GET", "/v1/trials:available", nil)
}
