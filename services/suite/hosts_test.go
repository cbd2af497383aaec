package suite_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// TestAccountHosts_LIC10: an account's hosts with what they hold, their licenses to
// download (with the consolidated file), only to those who may see the account.
func TestAccountHosts_LIC10(t *testing.T) {
	env := suitetest.Start(t)
	api, admin, ids := batchWorld(t, env)
	admin.ok("POST", "/v1/fulfillments:activate", map[string]any{
		"lines": []any{
			map[string]any{"line_item": "lineItems/" + ids["SO-B/1"], "counts": []any{map[string]any{"host": 0, "count": 2}}},
			map[string]any{"line_item": "lineItems/" + ids["SO-B/2"]},
		},
		"hosts": []any{map[string]any{"server_host_ids": []string{"HOSTNAME=lic1"}}},
	})
	admin.ok("POST", "/v1/fulfillments:activate", map[string]any{
		"lines": []any{map[string]any{"line_item": "lineItems/" + ids["SO-B/3"]}},
		"hosts": []any{map[string]any{"server_host_ids": []string{"HOSTNAME=srv"}, "nodelocked_host_ids": []string{"HOSTNAME=pc1"}}},
	})
	hosts := list(admin, "/v1/accounts/ACME/hosts", url.Values{}, "hosts")
	require.Len(t, hosts, 3)
	byID := map[string]map[string]any{}
	for _, h := range hosts {
		byID[h["host_id"].(string)] = h
	}
	require.EqualValues(t, 2, num(byID["HOSTNAME=lic1"]["fulfillments"]))
	require.EqualValues(t, 3, num(byID["HOSTNAME=lic1"]["seats"]))
	require.Equal(t, "HOSTNAME", byID["HOSTNAME=pc1"]["kind"])
	require.Len(t, list(admin, "/v1/accounts/ACME/hosts", url.Values{"filter": {`host_id:"lic"`}}, "hosts"), 1)

	hl := admin.ok("GET", "/v1/accounts/ACME/hosts:licenses?"+url.Values{"host_id": {"hostname=lic1"}}.Encode(), nil)
	require.Equal(t, "HOSTNAME=lic1", hl["host_id"])
	require.Len(t, hl["fulfillments"], 2)
	require.NotEmpty(t, hl["fulfillments"].([]any)[0].(map[string]any)["license_text"])
	require.Len(t, hl["consolidated_licenses"], 1)
	admin.refused(http.StatusBadRequest, "GET", "/v1/accounts/ACME/hosts:licenses?host_id=nonsense", nil)

	admin.ok("POST", "/v1/users", map[string]any{"password": "Otto-Password-1", "user": map[string]any{
		"username": "otto", "first_name": "Otto", "last_name": "O", "email": "otto@other.example",
		"memberships": []any{map[string]any{"account": "accounts/OTHER", "roles": []string{"customer_admin"}}},
	}})
	otto := api.as(login(api, "order-co", "otto", "Otto-Password-1"))
	otto.refused(http.StatusNotFound, "GET", "/v1/accounts/ACME/hosts", nil)
	require.Empty(t, list(otto, "/v1/accounts/OTHER/hosts", url.Values{}, "hosts"))
	createTenant(api.as(env.OperatorToken), "host-rival2", "Admin-Password-2")
	rival := api.as(login(api, "host-rival2", "admin", "Admin-Password-2"))
	rival.refused(http.StatusNotFound, "GET", "/v1/accounts/ACME/hosts", nil) // another tenant's ACME does not exist here
}
