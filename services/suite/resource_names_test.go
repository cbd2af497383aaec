package suite_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// TestFiltersTakeResourceNames_PLT2: a list filter on a reference field takes the
// resource name the API itself answers with (account = "accounts/ACME") as well as
// the bare ID, and both find the same items.
func TestFiltersTakeResourceNames_PLT2(t *testing.T) {
	env := suitetest.Start(t)
	api := rest{t: t, base: env.Suite.GatewayURL}
	seed := env.SeedLineItem(t, "names-co", 5)
	admin := api.as(login(api, "names-co", "admin", "Admin-Password-1"))
	admin.ok("POST", "/v1/lineItems/"+seed.ActivationID+":activate", map[string]any{"host_id": "HOSTNAME=dogma", "quantity": 1, "request_id": "names-1"})
	li := admin.ok("GET", "/v1/lineItems/"+seed.ActivationID, nil)
	ent := admin.ok("GET", "/v1/"+li["entitlement"].(string), nil)
	ful := list(admin, "/v1/fulfillments", url.Values{}, "fulfillments")
	require.Len(t, ful, 1)

	for _, c := range []struct {
		path, list, field, filter, name, want string
	}{
		{"/v1/lineItems", "line_items", "activation_id", "account", li["account"].(string), seed.ActivationID},
		{"/v1/lineItems", "line_items", "activation_id", "product", li["product"].(string), seed.ActivationID},
		{"/v1/lineItems", "line_items", "activation_id", "entitlement", li["entitlement"].(string), seed.ActivationID},
		{"/v1/entitlements", "entitlements", "name", "account", ent["account"].(string), ent["name"].(string)},
		{"/v1/fulfillments", "fulfillments", "name", "account", ful[0]["account"].(string), ful[0]["name"].(string)},
		{"/v1/fulfillments", "fulfillments", "name", "line_item", ful[0]["line_item"].(string), ful[0]["name"].(string)},
		{"/v1/fulfillments", "fulfillments", "name", "product", ful[0]["product"].(string), ful[0]["name"].(string)},
	} {
		id := seedID(c.name)
		require.Contains(t, c.name, "/", "%s of %s is a resource name", c.filter, c.path)
		for _, value := range []string{c.name, id} {
			got := collect(t, admin, c.path, c.list, c.field, url.Values{"filter": {c.filter + ` = "` + value + `"`}})
			require.Equal(t, []string{c.want}, got, "%s?filter=%s = %q", c.path, c.filter, value)
		}
		require.Empty(t, collect(t, admin, c.path, c.list, c.field, url.Values{"filter": {c.filter + ` = "` + c.name + `x"`}}))
	}
}

// seedID is the ID part of a resource name.
func seedID(name string) string {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '/' {
			return name[i+1:]
		}
	}
	return name
}

// TestListHostsOfUnknownAccount: the hosts of an account that does not exist are a
// 404, not an empty list; an existing account without hosts is an empty list.
func TestListHostsOfUnknownAccount(t *testing.T) {
	env := suitetest.Start(t)
	api := rest{t: t, base: env.Suite.GatewayURL}
	seed := env.SeedLineItem(t, "hosts-co", 5)
	admin := api.as(login(api, "hosts-co", "admin", "Admin-Password-1"))
	e := admin.refused(http.StatusNotFound, "GET", "/v1/accounts/NO-SUCH-ACCOUNT/hosts", nil)
	require.Equal(t, "NOT_FOUND", e["reason"])
	require.Empty(t, admin.ok("GET", "/v1/accounts/"+seed.AccountID+"/hosts", nil)["hosts"])
	admin.ok("POST", "/v1/lineItems/"+seed.ActivationID+":activate", map[string]any{"host_id": "HOSTNAME=dogma", "quantity": 1, "request_id": "hosts-1"})
	require.Len(t, admin.ok("GET", "/v1/accounts/"+seed.AccountID+"/hosts", nil)["hosts"], 1)
}

// TestCreateTenantAnswersStoredTimes: CreateTenant answers the tenant's, the home
// account's and the administrator's creation times as stored.
func TestCreateTenantAnswersStoredTimes(t *testing.T) {
	env := suitetest.Start(t)
	api := rest{t: t, base: env.Suite.GatewayURL}
	before := time.Now().Add(-time.Minute)
	created := api.as(env.OperatorToken).ok("POST", "/v1/tenants", map[string]any{
		"tenant_id": "times-co", "display_name": "Times", "admin_username": "admin", "admin_email": "admin@times.example", "admin_password": "Admin-Password-1",
	})
	admin := api.as(login(api, "times-co", "admin", "Admin-Password-1"))
	home := created["home_account"].(map[string]any)
	require.NotEmpty(t, home["create_time"])
	require.Equal(t, admin.ok("GET", "/v1/accounts/HOME", nil)["create_time"], home["create_time"])
	user := created["admin"].(map[string]any)
	require.Equal(t, admin.ok("GET", "/v1/"+user["name"].(string), nil)["create_time"], user["create_time"])
	at, err := time.Parse(time.RFC3339Nano, created["tenant"].(map[string]any)["create_time"].(string))
	require.NoError(t, err)
	require.True(t, at.After(before))
}
