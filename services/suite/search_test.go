package suite_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// collect pages through a list endpoint and returns one field of every item.
func collect(t *testing.T, api rest, path, listField, itemField string, q url.Values) []string {
	t.Helper()
	var out []string
	for pages := 0; ; pages++ {
		require.Less(t, pages, 50, "paging does not end")
		body := api.ok("GET", path+"?"+q.Encode(), nil)
		items, _ := body[listField].([]any)
		for _, it := range items {
			out = append(out, it.(map[string]any)[itemField].(string))
		}
		next, _ := body["next_page_token"].(string)
		if next == "" {
			return out
		}
		q.Set("page_token", next)
	}
}

// TestSearchAndPaging_PLT2: filters (simple and advanced), ordering and cursor
// paging on the account and user lists; bad filters are clear 400s.
func TestSearchAndPaging_PLT2(t *testing.T) {
	env := suitetest.Start(t)
	api := rest{t: t, base: env.Suite.GatewayURL}
	createTenant(api.as(env.OperatorToken), "find-co", "Admin-Password-1")
	admin := api.as(login(api, "find-co", "admin", "Admin-Password-1"))
	names := []string{"Acme Berlin", "Acme Paris", "Globex", "Initech", "Acme_Rome", "Umbrella 100%", "Hooli"}
	for i, n := range names {
		typ := "ACCOUNT_TYPE_CUSTOMER"
		if i%3 == 0 {
			typ = "ACCOUNT_TYPE_PARTNER"
		}
		admin.ok("POST", "/v1/accounts", map[string]any{"account": map[string]any{"display_name": n, "type": typ, "address": map[string]any{"city": []string{"Berlin", "Paris"}[i%2]}, "attributes": map[string]string{"tier": []string{"gold", "silver"}[i%2]}}})
	}

	byName := func(filter, order string, size string) []string {
		return collect(t, admin, "/v1/accounts", "accounts", "display_name", url.Values{"filter": {filter}, "order_by": {order}, "page_size": {size}})
	}
	require.Equal(t, []string{"Acme Berlin", "Acme Paris", "Acme_Rome"}, byName(`display_name:"acme"`, "display_name", "2"))
	require.Equal(t, []string{"Acme_Rome", "Acme Paris", "Acme Berlin"}, byName(`display_name = "acme*"`, "display_name desc", "1"))
	require.Equal(t, []string{"Acme_Rome"}, byName(`display_name:"_"`, "", "10"), "_ is literal")
	require.Equal(t, []string{"Umbrella 100%"}, byName(`display_name = "*100%"`, "", "10"), "% is literal")
	require.Equal(t, []string{"Acme Berlin", "Initech", "Hooli"}, byName(`type = PARTNER AND display_name != "Find"`, "create_time", "2"))
	require.Equal(t, []string{"Acme Paris", "Initech", "Umbrella 100%"}, byName(`address.city = "Paris" AND attributes.tier = silver`, "create_time", "5"))
	require.Len(t, byName(`create_time > "2000-01-01"`, "", "3"), len(names)+1, "every account, HOME included, across pages")
	require.Empty(t, byName(`create_time < "2000-01-01"`, "", "3"))

	e := admin.refused(http.StatusBadRequest, "GET", "/v1/accounts?filter="+url.QueryEscape(`secret = 1`), nil)
	require.Equal(t, []string{"filter"}, fieldViolations(e))
	e = admin.refused(http.StatusBadRequest, "GET", "/v1/accounts?filter="+url.QueryEscape(`display_name = "x" OR type = PARTNER`), nil)
	require.Equal(t, "FILTER_INVALID", e["reason"])
	e = admin.refused(http.StatusBadRequest, "GET", "/v1/accounts?order_by=password", nil)
	require.Equal(t, []string{"order_by"}, fieldViolations(e))
	first := admin.ok("GET", "/v1/accounts?page_size=1", nil)
	e = admin.refused(http.StatusBadRequest, "GET", "/v1/accounts?page_size=1&filter=type%3DPARTNER&page_token="+first["next_page_token"].(string), nil)
	require.Equal(t, []string{"page_token"}, fieldViolations(e), "a token belongs to its query")

	// Users: producers see all; others only their accounts' users.
	admin.ok("POST", "/v1/accounts", map[string]any{"account_id": "SOLO", "account": map[string]any{"display_name": "Solo", "type": "ACCOUNT_TYPE_CUSTOMER"}})
	for _, u := range []string{"zoe", "yan", "xia"} {
		admin.ok("POST", "/v1/users", map[string]any{"password": "User-Password-1", "user": map[string]any{
			"username": u, "first_name": u, "last_name": "L", "email": u + "@solo.example",
			"memberships": []any{map[string]any{"account": "accounts/SOLO", "roles": []string{"customer_admin"}}},
		}})
	}
	users := collect(t, admin, "/v1/users", "users", "username", url.Values{"order_by": {"username"}, "page_size": {"2"}})
	require.Equal(t, []string{"admin", "xia", "yan", "zoe"}, users)
	require.Equal(t, []string{"yan"}, collect(t, admin, "/v1/users", "users", "username", url.Values{"filter": {`email = "yan@*"`}}))
	zoe := api.as(login(api, "find-co", "zoe", "User-Password-1"))
	require.Equal(t, []string{"zoe", "yan", "xia"}, collect(t, zoe, "/v1/users", "users", "username", url.Values{"order_by": {"username desc"}}))
	require.Equal(t, []string{"Solo"}, collect(t, zoe, "/v1/accounts", "accounts", "display_name", url.Values{}))
}
