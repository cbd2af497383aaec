package suite_test

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

func readCSV(t *testing.T, r reply) [][]string {
	t.Helper()
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	require.Equal(t, "text/csv; charset=utf-8", r.Header.Get("Content-Type"))
	rows, err := csv.NewReader(strings.NewReader(string(r.Raw))).ReadAll()
	require.NoError(t, err)
	return rows
}

// TestCSVExport_PLT3: lists export as CSV with a header row (even when empty), for
// the current query or selected names, per tenant, with formulas defused.
func TestCSVExport_PLT3(t *testing.T) {
	env := suitetest.Start(t)
	api := rest{t: t, base: env.Suite.GatewayURL}
	op := api.as(env.OperatorToken)
	createTenant(op, "csv-co", "Admin-Password-1")
	createTenant(op, "csv-rival", "Admin-Password-2")
	admin := api.as(login(api, "csv-co", "admin", "Admin-Password-1"))
	for _, a := range []struct{ id, name string }{{"ACME", "Acme, Inc."}, {"EVIL", "=HYPERLINK(\"x\")"}, {"GLOBEX", "Globex"}} {
		admin.ok("POST", "/v1/accounts", map[string]any{"account_id": a.id, "account": map[string]any{"display_name": a.name, "type": "ACCOUNT_TYPE_CUSTOMER", "attributes": map[string]string{"tier": "gold"}}})
	}

	all := admin.do("GET", "/v1/accounts:export?order_by=display_name", nil)
	require.Contains(t, all.Header.Get("Content-Disposition"), `filename="Accounts.csv"`)
	rows := readCSV(t, all)
	require.Equal(t, []string{"name", "account_id", "display_name", "description", "type", "address", "visible_to_partners", "attributes", "create_time", "update_time", "company", "emergency_contact_email"}, rows[0])
	require.Len(t, rows, 5, "header + HOME + 3")
	byID := map[string][]string{}
	for _, r := range rows[1:] {
		byID[r[1]] = r
	}
	require.Equal(t, "Acme, Inc.", byID["ACME"][2])
	require.Equal(t, "ACCOUNT_TYPE_CUSTOMER", byID["ACME"][4])
	require.JSONEq(t, `{"tier":"gold"}`, byID["ACME"][7])
	require.Equal(t, `'=HYPERLINK("x")`, byID["EVIL"][2], "formulas are defused")

	rows = readCSV(t, admin.do("GET", "/v1/accounts:export?filter="+url.QueryEscape(`display_name:"globex"`), nil))
	require.Len(t, rows, 2)
	require.Equal(t, "GLOBEX", rows[1][1])
	rows = readCSV(t, admin.do("GET", "/v1/accounts:export?names=accounts/ACME,accounts/GLOBEX", nil))
	require.Len(t, rows, 3, "selected names only")
	rows = readCSV(t, admin.do("GET", "/v1/accounts:export?filter="+url.QueryEscape(`display_name = "nothing"`), nil))
	require.Len(t, rows, 1, "a header row even when nothing matches")

	users := readCSV(t, admin.do("GET", "/v1/users:export", nil))
	require.Equal(t, "username", users[0][2])
	require.Len(t, users, 2)

	rival := api.as(login(api, "csv-rival", "admin", "Admin-Password-2"))
	rows = readCSV(t, rival.do("GET", "/v1/accounts:export", nil))
	require.Len(t, rows, 2, "the rival sees only its own HOME account")
	api.refused(http.StatusUnauthorized, "GET", "/v1/accounts:export", nil)
	admin.refused(http.StatusBadRequest, "GET", "/v1/accounts:export?filter=nonsense", nil)
	admin.refused(http.StatusNotFound, "GET", "/v1/secrets:export", nil)
}

// TestCSVExportMore_PLT3: hosts (per account), consolidated licenses, both audit
// trails and access tokens export as CSV too; the token file holds no token value.
func TestCSVExportMore_PLT3(t *testing.T) {
	env := suitetest.Start(t)
	api, admin, ids := batchWorld(t, env)
	activate := func(activationID, server string) string {
		return admin.ok("POST", "/v1/fulfillments:activate", map[string]any{
			"lines": []any{map[string]any{"line_item": "lineItems/" + activationID}},
			"hosts": []any{map[string]any{"server_host_ids": []string{server}}}, "attributes": map[string]any{"consolidate": false},
		})["fulfillments"].([]any)[0].(map[string]any)["name"].(string)
	}
	a := activate(ids["SO-B/1"], "HOSTNAME=lic1")
	b := activate(ids["SO-B/2"], "HOSTNAME=lic1")
	activate(ids["SO-B/1"], "HOSTNAME=lic2")
	cons := admin.ok("POST", "/v1/consolidatedLicenses:consolidate", map[string]any{"fulfillments": []string{a, b}, "request_id": "csv-con"})
	consName := cons["consolidated_licenses"].([]any)[0].(map[string]any)["name"].(string)

	hosts := admin.do("GET", "/v1/accounts/ACME/hosts:export?order_by=host_id", nil)
	require.Contains(t, hosts.Header.Get("Content-Disposition"), `filename="Hosts.csv"`)
	rows := readCSV(t, hosts)
	require.Equal(t, []string{"host_id", "kind", "account", "fulfillments", "seats", "first_use_time", "last_use_time"}, rows[0])
	require.Len(t, rows, 3)
	require.Equal(t, []string{"HOSTNAME=lic1", "HOSTNAME", "accounts/ACME", "2"}, rows[1][:4])
	require.Equal(t, "HOSTNAME=lic2", rows[2][0])
	require.Len(t, readCSV(t, admin.do("GET", "/v1/accounts/OTHER/hosts:export", nil)), 1, "only the named account's hosts")
	admin.refused(http.StatusNotFound, "GET", "/v1/accounts/hosts:export", nil)

	rows = readCSV(t, admin.do("GET", "/v1/consolidatedLicenses:export", nil))
	require.Equal(t, []string{"name", "consolidated_license_id", "server_host_ids", "account", "fulfillments", "license_technology", "create_time", "replaced_by", "retire_time"}, rows[0])
	require.Len(t, rows, 2)
	require.Equal(t, consName, rows[1][0])
	require.JSONEq(t, `["HOSTNAME=lic1"]`, rows[1][2])
	require.NotContains(t, strings.Join(rows[1], ","), "INCREMENT", "the license file itself is not exported")

	created := admin.ok("POST", "/v1/accessTokens", map[string]any{"access_token": map[string]any{"display_name": "csv-export", "description": "ci"}, "expires_in": "1d"})
	tokens := admin.do("GET", "/v1/accessTokens:export", nil)
	require.Contains(t, tokens.Header.Get("Content-Disposition"), `filename="AccessTokens.csv"`)
	rows = readCSV(t, tokens)
	require.Equal(t, []string{"name", "token_id", "display_name", "description", "type", "created_by", "created_for", "expire_time", "expired", "create_time", "update_time"}, rows[0])
	require.Len(t, rows, 2)
	require.Equal(t, "csv-export", rows[1][2])
	require.NotContains(t, string(tokens.Raw), created["token_value"].(string), "no token value in the file")
	require.NotContains(t, string(tokens.Raw), "rna_")

	rows = readCSV(t, admin.do("GET", "/v1/auditEvents:export?filter="+url.QueryEscape(`subject:"account.account.created"`), nil))
	require.Equal(t, "name", rows[0][0])
	require.Equal(t, "subject", rows[0][8])
	require.GreaterOrEqual(t, len(rows), 3, "ACME and OTHER were created")
	for _, r := range rows[1:] {
		require.Equal(t, "tessera.account.account.created", r[8])
	}
	rows = readCSV(t, admin.do("GET", "/v1/services/entitlement/auditEvents:export?filter="+url.QueryEscape(`subject:"license_model"`), nil))
	require.Len(t, rows, 4, "header and the three license models of the world")

	admin.ok("POST", "/v1/users", map[string]any{"password": "Cara-Password-1", "user": map[string]any{
		"username": "cara", "first_name": "Cara", "last_name": "C", "email": "cara@acme.example",
		"memberships": []any{map[string]any{"account": "accounts/ACME", "roles": []string{"customer_admin"}}},
	}})
	customer := api.as(login(api, "order-co", "cara", "Cara-Password-1"))
	customer.refused(http.StatusForbidden, "GET", "/v1/auditEvents:export", nil)
	createTenant(api.as(env.OperatorToken), "csv-rival2", "Admin-Password-2")
	rival := api.as(login(api, "csv-rival2", "admin", "Admin-Password-2"))
	require.Len(t, readCSV(t, rival.do("GET", "/v1/consolidatedLicenses:export", nil)), 1, "another tenant sees none")
	rival.refused(http.StatusNotFound, "GET", "/v1/accounts/ACME/hosts:export", nil) // another tenant's ACME does not exist here
}
