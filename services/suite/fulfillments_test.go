package suite_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// TestFulfillmentsList_LIC7: the fulfillments list with every column, search by
// host, product and support type, CSV export as SupportLicenses.csv, the license
// file to save, a print view, and email with LicenseFile.lic; customers see only
// their accounts' fulfillments, other tenants none.
func TestFulfillmentsList_LIC7(t *testing.T) {
	env := suitetest.Start(t)
	api, admin, ids := batchWorld(t, env)
	activate := func(k, host string, count int) map[string]any {
		return admin.ok("POST", "/v1/fulfillments:activate", map[string]any{
			"lines": []any{map[string]any{"line_item": "lineItems/" + ids[k], "counts": []any{map[string]any{"host": 0, "count": count}}}},
			"hosts": []any{map[string]any{"server_host_ids": []string{host}}},
		})["fulfillments"].([]any)[0].(map[string]any)
	}
	a := activate("SO-B/1", "HOSTNAME=alpha", 2)
	activate("SO-B/2", "HOSTNAME=beta", 1)
	other := activate("SO-O/1", "HOSTNAME=gamma", 1)

	fulfillments := func(as rest, q url.Values) []map[string]any { return list(as, "/v1/fulfillments", q, "fulfillments") }
	all := fulfillments(admin, url.Values{"order_by": {"create_time"}})
	require.Len(t, all, 3)
	first := all[0]
	require.Equal(t, a["fulfillment_id"], first["fulfillment_id"])
	for _, col := range []string{"line_item", "product", "version", "server_host_ids", "count", "support_type", "create_time", "account"} {
		require.NotNil(t, first[col], col)
	}
	require.Nil(t, first["license_text"], "lists leave the license text out")
	require.NotNil(t, fulfillments(admin, url.Values{"view": {"FULFILLMENT_VIEW_FULL"}, "filter": {`host:"alpha"`}})[0]["license_text"])
	require.Len(t, fulfillments(admin, url.Values{"filter": {`host:"alpha"`}}), 1)
	require.Len(t, fulfillments(admin, url.Values{"filter": {`product = "fsim"`}}), 1)
	require.Len(t, fulfillments(admin, url.Values{"filter": {`support_type = MASTER AND account = ACME`}}), 2)
	admin.refused(http.StatusBadRequest, "GET", "/v1/fulfillments?filter=colour%3Dred", nil)

	rows := readCSV(t, admin.do("GET", "/v1/fulfillments:export?order_by=create_time", nil))
	require.Equal(t, []string{
		"name", "support_type", "fulfillment_id", "line_item", "product", "version", "server_host_ids", "nodelocked_host_ids",
		"count", "overdraft", "state", "create_time", "expire_time", "account", "parent", "consolidated_license",
	}, rows[0])
	require.Len(t, rows, 4)
	require.Equal(t, "SUPPORT_TYPE_MASTER", rows[1][1])
	require.Contains(t, admin.do("GET", "/v1/fulfillments:export", nil).Header.Get("Content-Disposition"), "SupportLicenses.csv")

	name := "fulfillments/" + a["fulfillment_id"].(string)
	file := admin.do("GET", "/v1/"+name+":licenseFile", nil)
	require.Equal(t, http.StatusOK, file.Status)
	require.Contains(t, file.Header.Get("Content-Disposition"), "LicenseFile.lic")
	require.Equal(t, a["license_text"], string(file.Raw))
	page := admin.do("GET", "/v1/"+name+":print", nil)
	require.Equal(t, http.StatusOK, page.Status)
	require.Contains(t, page.Header.Get("Content-Type"), "text/html")
	require.Contains(t, string(page.Raw), "HOSTNAME=alpha")

	admin.refused(http.StatusBadRequest, "POST", "/v1/"+name+":email", map[string]any{"to": []string{"not an address"}})
	admin.ok("POST", "/v1/"+name+":email", map[string]any{"to": []string{"it@acme.example"}})
	mail := env.WaitForMail(t, "To: <it@acme.example>", "License "+a["fulfillment_id"].(string))
	require.Contains(t, mail, "LicenseFile.lic")

	// A customer of Acme sees Acme's fulfillments only; another tenant none.
	admin.ok("POST", "/v1/users", map[string]any{"password": "Finn-Password-1", "user": map[string]any{
		"username": "finn", "first_name": "Finn", "last_name": "F", "email": "finn@acme.example",
		"memberships": []any{map[string]any{"account": "accounts/ACME", "roles": []string{"customer_admin"}}},
	}})
	finn := api.as(login(api, "order-co", "finn", "Finn-Password-1"))
	require.Len(t, fulfillments(finn, url.Values{}), 2)
	finn.refused(http.StatusNotFound, "GET", "/v1/fulfillments/"+other["fulfillment_id"].(string), nil)
	require.Equal(t, http.StatusNotFound, finn.do("GET", "/v1/fulfillments/"+other["fulfillment_id"].(string)+":licenseFile", nil).Status)
	createTenant(api.as(env.OperatorToken), "ful-rival", "Admin-Password-2")
	rival := api.as(login(api, "ful-rival", "admin", "Admin-Password-2"))
	require.Empty(t, fulfillments(rival, url.Values{}))
	rival.refused(http.StatusNotFound, "POST", "/v1/"+name+":email", map[string]any{"to": []string{"x@rival.example"}})
}
