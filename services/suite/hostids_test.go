package suite_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// TestHostIDValidation_LIC3: host IDs are checked by the rules of their type, their
// role and the license model's allowed kinds, with errors that name the rule; a
// producer may relax IP validation for its own tenant only; a refused activation
// takes no seat.
func TestHostIDValidation_LIC3(t *testing.T) {
	env := suitetest.Start(t)
	api, admin := orderWorldIn(t, env)
	created := admin.ok("POST", "/v1/orders:batchCreate", map[string]any{"orders": []any{
		map[string]any{"order_id": "SO-H", "sold_to": "accounts/ACME", "lines": []any{line("1", "cad", 5)}},
	}})
	ent := created["entitlements"].([]any)[0].(map[string]any)
	li := lineItems(ent)["1"]["activation_id"].(string)

	check := func(as rest, body map[string]any) map[string]any { return as.ok("POST", "/v1/hostIds:validate", body) }
	refusal := func(as rest, body map[string]any) (string, string) {
		e := as.refused(http.StatusBadRequest, "POST", "/v1/hostIds:validate", body)
		md, _ := e["metadata"].(map[string]any)
		rule, _ := md["rule"].(string)
		return e["reason"].(string), rule
	}
	got := check(admin, map[string]any{"host_id": "ETHER=01:23:45:67:89:AB"})
	require.Equal(t, "0123456789ab", got["host_id"])
	require.Equal(t, "ETHER", got["kind"])
	require.Equal(t, "VMW_UUID", check(admin, map[string]any{"host_id": "VMW_UUID=4c4c4544-0042-3910-8058-b8c04f4a4d32", "role": "HOST_ROLE_SERVER"})["kind"])

	reason, rule := refusal(admin, map[string]any{"host_id": "TPM_ID=abc"})
	require.Equal(t, "HOST_ID_INVALID", reason)
	require.Equal(t, "tpm_id_format", rule)
	_, rule = refusal(admin, map[string]any{"host_id": "DEMO", "role": "HOST_ROLE_SERVER"})
	require.Equal(t, "nodelocked_host_only", rule)
	_, rule = refusal(admin, map[string]any{"host_id": "ETHER=0123456789ab", "line_item": "lineItems/" + li})
	require.Equal(t, "kind_not_allowed", rule, "the node model takes HOSTNAME host IDs only")
	_, rule = refusal(admin, map[string]any{"host_id": "AMZN_EIP=10.1.2.3"})
	require.Equal(t, "ip_routable", rule)

	// The activation refuses the same way and takes nothing.
	e := admin.refused(http.StatusBadRequest, "POST", "/v1/lineItems/"+li+":activate", map[string]any{"host_id": "ETHER=0123456789ab", "quantity": 1})
	require.Equal(t, "HOST_ID_INVALID", e["reason"])
	require.Equal(t, []string{"host_id"}, fieldViolations(e))
	require.EqualValues(t, 5, num(admin.ok("GET", "/v1/lineItems/"+li, nil)["available"]))

	// Relaxed IP validation, for this tenant only and by its producer only.
	require.Equal(t, false, admin.ok("GET", "/v1/licenseSettings", nil)["relax_ip_validation"], "strict by default")
	admin.refused(http.StatusBadRequest, "PATCH", "/v1/licenseSettings?update_mask=colour", map[string]any{"relax_ip_validation": true})
	admin.ok("PATCH", "/v1/licenseSettings?update_mask=relaxIpValidation", map[string]any{"relax_ip_validation": true})
	require.Equal(t, true, admin.ok("GET", "/v1/licenseSettings", nil)["relax_ip_validation"])
	require.Equal(t, "AMZN_EIP", check(admin, map[string]any{"host_id": "AMZN_EIP=10.1.2.3"})["kind"])

	device := func(as rest, account string) reply {
		return as.do("POST", "/v1/devices", map[string]any{"device": map[string]any{
			"account": "accounts/" + account, "display_name": "Gateway", "type": "DEVICE_TYPE_STANDALONE", "host_id": "AMZN_EIP=10.1.2.3",
		}})
	}
	require.Equal(t, http.StatusOK, device(admin, "ACME").Status, "devices follow the tenant's rules too")

	createTenant(api.as(env.OperatorToken), "host-rival", "Admin-Password-2")
	rival := api.as(login(api, "host-rival", "admin", "Admin-Password-2"))
	_, rule = refusal(rival, map[string]any{"host_id": "AMZN_EIP=10.1.2.3"})
	require.Equal(t, "ip_routable", rule, "another tenant keeps strict rules")
	rival.ok("POST", "/v1/accounts", map[string]any{"account_id": "RIV", "account": map[string]any{"display_name": "Riv", "type": "ACCOUNT_TYPE_CUSTOMER"}})
	require.Equal(t, http.StatusBadRequest, device(rival, "RIV").Status, "and for its devices")
	rival.refused(http.StatusNotFound, "POST", "/v1/hostIds:validate", map[string]any{"host_id": "HOSTNAME=x", "line_item": "lineItems/" + li})

	admin.ok("POST", "/v1/users", map[string]any{"password": "Cleo-Password-1", "user": map[string]any{
		"username": "cleo", "first_name": "Cleo", "last_name": "C", "email": "cleo@acme.example",
		"memberships": []any{map[string]any{"account": "accounts/ACME", "roles": []string{"customer_admin"}}},
	}})
	cleo := api.as(login(api, "order-co", "cleo", "Cleo-Password-1"))
	cleo.refused(http.StatusForbidden, "PATCH", "/v1/licenseSettings?update_mask=relaxIpValidation", map[string]any{"relax_ip_validation": false})
	require.Equal(t, "HOSTNAME=cleo-pc", check(cleo, map[string]any{"host_id": "hostname=cleo-pc", "line_item": "lineItems/" + li})["host_id"])
}
