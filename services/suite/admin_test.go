package suite_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// TestBatchRehostAndHostTransfer_LIC11: a portal admin redistributes an account's
// counted licenses of a product among servers after reviewing the moves, and moves
// every license from a dead host to a new one, consolidated there; customers cannot.
func TestBatchRehostAndHostTransfer_LIC11(t *testing.T) {
	env := suitetest.Start(t)
	api, admin, ids := batchWorld(t, env)
	created := admin.ok("POST", "/v1/orders:batchCreate", map[string]any{"orders": []any{map[string]any{"order_id": "SO-20", "sold_to": "accounts/ACME", "lines": []any{
		line("1", "fcad", 20, "license_model", "licenseModels/float"),
	}}}})
	li := "lineItems/" + lineItems(created["entitlements"].([]any)[0].(map[string]any))["1"]["activation_id"].(string)
	f := admin.ok("POST", "/v1/"+li+":activate", map[string]any{"host_id": "HOSTNAME=lic-a", "quantity": 20})
	sim := admin.ok("POST", "/v1/lineItems/"+ids["SO-B/2"]+":activate", map[string]any{"host_id": "HOSTNAME=lic-a", "quantity": 2})
	available := func() int64 { return num(admin.ok("GET", "/v1/"+li, nil)["available"]) }

	batch := func(extra ...any) map[string]any {
		m := map[string]any{"products": []string{"products/fcad"}, "targets": map[string]any{"fcad": map[string]any{"servers": []any{
			map[string]any{"server_host_ids": []string{"HOSTNAME=lic-a"}, "count": 10}, map[string]any{"server_host_ids": []string{"HOSTNAME=lic-b"}, "count": 10},
		}}}}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i].(string)] = extra[i+1]
		}
		return m
	}
	path := "/v1/accounts/ACME/fulfillments:batchRehost"
	review := admin.ok("POST", path, batch("validate_only", true))
	require.Len(t, review["moves"], 1)
	mv := review["moves"].([]any)[0].(map[string]any)
	require.Equal(t, f["name"], mv["fulfillment"])
	require.Equal(t, []any{"HOSTNAME=lic-b"}, mv["to_host_ids"])
	require.EqualValues(t, 10, num(mv["count"]))
	require.Equal(t, "SUPPORT_TYPE_MASTER", admin.ok("GET", "/v1/"+f["name"].(string), nil)["support_type"], "a review changes nothing")

	done := admin.ok("POST", path, batch("request_id", "rb-1"))
	require.Len(t, done["created"], 2)
	require.Equal(t, "SUPPORT_TYPE_REHOST", admin.ok("GET", "/v1/"+f["name"].(string), nil)["support_type"],
		"the model allows no rehost, but a portal admin is not held to its limits")
	again := admin.ok("POST", path, batch("request_id", "rb-1"))
	require.Empty(t, again["moves"], "run again, the batch finds the targets met and moves nothing")
	require.EqualValues(t, 0, available(), "redistribution takes no seats")

	bad := batch()
	bad["targets"] = map[string]any{"fcad": map[string]any{"servers": []any{map[string]any{"server_host_ids": []string{"HOSTNAME=lic-a"}, "count": 25}}}}
	e := admin.refused(http.StatusBadRequest, "POST", path, bad)
	require.Equal(t, []string{"targets[fcad]"}, fieldViolations(e))

	// The dead host lic-a: its licenses (10 of fcad, 2 of fsim) move to lic-new and are
	// consolidated there.
	transfer := map[string]any{"from_host_id": "HOSTNAME=lic-a", "to_host_id": "HOSTNAME=lic-new", "consolidate": true}
	dry := copyMap(transfer)
	dry["validate_only"] = true
	require.Len(t, admin.ok("POST", "/v1/accounts/ACME/fulfillments:transferHost", dry)["moves"], 2)
	moved := admin.ok("POST", "/v1/accounts/ACME/fulfillments:transferHost", transfer)
	require.Len(t, moved["created"], 2)
	for _, c := range moved["created"].([]any) {
		require.Equal(t, []any{"HOSTNAME=lic-new"}, c.(map[string]any)["server_host_ids"])
	}
	require.Len(t, moved["consolidated_licenses"], 1)
	require.Equal(t, "SUPPORT_TYPE_REHOST", admin.ok("GET", "/v1/"+sim["name"].(string), nil)["support_type"])
	e = admin.refused(http.StatusConflict, "POST", "/v1/accounts/ACME/fulfillments:transferHost", transfer)
	require.Equal(t, "HOST_HAS_NO_LICENSES", e["reason"])

	admin.ok("POST", "/v1/users", map[string]any{"password": "Cara-Password-1", "user": map[string]any{
		"username": "cara", "first_name": "Cara", "last_name": "C", "email": "cara@acme.example",
		"memberships": []any{map[string]any{"account": "accounts/ACME", "roles": []string{"customer_admin"}}},
	}})
	cara := api.as(login(api, "order-co", "cara", "Cara-Password-1"))
	cara.refused(http.StatusForbidden, "POST", path, batch("validate_only", true))
	cara.refused(http.StatusForbidden, "POST", "/v1/accounts/ACME/fulfillments:transferHost", dry)
}

// TestBatchRehostRetryFinishesAfterAFailure_LIC11: a batch rehost that fails half
// way (its second target host is refused) and is sent again with the same request ID
// once the cause is fixed makes the moves it had left: a move's request ID names the
// fulfillment it rehosts, so the retry's moves are not mistaken for the first run's.
func TestBatchRehostRetryFinishesAfterAFailure_LIC11(t *testing.T) {
	env := suitetest.Start(t)
	_, admin, _ := batchWorld(t, env)
	admin.ok("POST", "/v1/licenseModels", map[string]any{"license_model_id": "ipm", "license_model": map[string]any{
		"display_name": "IP", "type": "LICENSE_MODEL_TYPE_FLOATING_COUNTED", "allowed_host_id_types": []string{"HOSTNAME", "AMZN_EIP"},
	}})
	admin.ok("POST", "/v1/products", map[string]any{"product_id": "ipc", "product": map[string]any{
		"display_name": "ipc", "version": "1.0", "license_technology": "LICENSE_TECHNOLOGY_CERTIFICATE",
		"features": []any{map[string]any{"name": "ipc", "version": "1.0"}}, "license_models": []string{"licenseModels/ipm"},
	}})
	li := admin.ok("POST", "/v1/orders", map[string]any{"order_id": "SO-IP", "sold_to": "accounts/ACME", "lines": []any{
		line("1", "ipc", 20, "license_model", "licenseModels/ipm"),
	}})["line_items"].([]any)[0].(map[string]any)["activation_id"].(string)
	admin.ok("POST", "/v1/lineItems/"+li+":activate", map[string]any{"host_id": "HOSTNAME=a", "quantity": 20})
	body := map[string]any{"products": []string{"products/ipc"}, "request_id": "rb-half", "targets": map[string]any{"ipc": map[string]any{"servers": []any{
		map[string]any{"server_host_ids": []string{"HOSTNAME=a"}, "count": 10},
		map[string]any{"server_host_ids": []string{"HOSTNAME=b"}, "count": 5},
		map[string]any{"server_host_ids": []string{"AMZN_EIP=10.1.2.3"}, "count": 5},
	}}}}
	seats := func() map[string]int64 {
		out := map[string]int64{}
		for _, f := range list(admin, "/v1/fulfillments", url.Values{"filter": {"support_type = MASTER AND product = ipc"}}, "fulfillments") {
			var hosts []string
			for _, h := range f["server_host_ids"].([]any) {
				hosts = append(hosts, h.(string))
			}
			out[strings.Join(hosts, " ")] += num(f["count"])
		}
		return out
	}

	path := "/v1/accounts/ACME/fulfillments:batchRehost"
	e := admin.refused(http.StatusBadRequest, "POST", path, body)
	require.Equal(t, "HOST_ID_INVALID", e["reason"], "a private address for an Elastic IP, under strict rules")
	require.Equal(t, map[string]int64{"HOSTNAME=a": 15, "HOSTNAME=b": 5}, seats(), "the first move was made")

	admin.ok("PATCH", "/v1/licenseSettings?update_mask=relaxIpValidation", map[string]any{"relax_ip_validation": true})
	done := admin.ok("POST", path, body)
	require.Len(t, done["moves"], 1, "what was left")
	require.Equal(t, map[string]int64{"HOSTNAME=a": 10, "HOSTNAME=b": 5, "AMZN_EIP=10.1.2.3": 5}, seats())
	require.EqualValues(t, 0, num(admin.ok("GET", "/v1/lineItems/"+li, nil)["available"]), "redistribution takes no seats")
}
