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
