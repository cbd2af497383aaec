package suite_test

import (
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/license/licfile"
	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// TestLifecycle_LIC8: return (part of count and overdraft), repair (attributes, not
// hosts) and rehost (part to another host), each marking the old fulfillment and
// making a new MASTER for what remains, within the model's per-period limits; Verify
// changes nothing; retries count once; seats follow exactly.
func TestLifecycle_LIC8(t *testing.T) {
	env := suitetest.Start(t)
	api, admin, ids := batchWorld(t, env)
	admin.ok("POST", "/v1/licenseModels", map[string]any{"license_model_id": "life", "license_model": map[string]any{
		"display_name": "Life", "type": "LICENSE_MODEL_TYPE_FLOATING_COUNTED", "allowed_host_id_types": []string{"HOSTNAME"}, "overdraft_allowed": true,
		"returns": map[string]any{"allowed": 2, "period": "1Y"}, "repairs": map[string]any{"allowed": 1}, "rehosts": map[string]any{"allowed": 5, "period": "30d"},
	}})
	admin.ok("POST", "/v1/products", map[string]any{"product_id": "lcad", "product": map[string]any{
		"display_name": "lcad", "version": "1.0", "license_technology": "LICENSE_TECHNOLOGY_CERTIFICATE",
		"features": []any{map[string]any{"name": "lcad", "version": "1.0"}}, "license_models": []string{"licenseModels/life"},
	}})
	created := admin.ok("POST", "/v1/orders:batchCreate", map[string]any{"orders": []any{map[string]any{"order_id": "SO-L", "sold_to": "accounts/ACME", "lines": []any{
		line("1", "lcad", 10, "license_model", "licenseModels/life"),
	}}}})
	li := "lineItems/" + lineItems(created["entitlements"].([]any)[0].(map[string]any))["1"]["activation_id"].(string)
	available := func() int64 { return num(admin.ok("GET", "/v1/"+li, nil)["available"]) }
	activate := func(host string, count, overdraft int) map[string]any {
		return admin.ok("POST", "/v1/fulfillments:activate", map[string]any{
			"lines": []any{map[string]any{"line_item": li, "counts": []any{map[string]any{"host": 0, "count": count, "overdraft": overdraft}}}},
			"hosts": []any{map[string]any{"server_host_ids": []string{host}}},
		})["fulfillments"].([]any)[0].(map[string]any)
	}
	name := func(f map[string]any) string { return "/v1/fulfillments/" + f["fulfillment_id"].(string) }
	verifies := func(f map[string]any) {
		keys := keysOf(t, api.ok("GET", "/v1/tenants/order-co/publicKeys", nil))
		_, err := licfile.Verify(f["license_text"].(string), keys)
		require.NoError(t, err)
	}

	f1 := activate("HOSTNAME=s1", 5, 1)
	require.EqualValues(t, 4, available())

	// Return 2 of the count: Verify first, then for real, then a retry.
	dry := admin.ok("POST", name(f1)+":return", map[string]any{"count": 2, "overdraft": 0, "validate_only": true})
	require.Equal(t, true, dry["validate_only"])
	require.EqualValues(t, 4, available())
	ret := admin.ok("POST", name(f1)+":return", map[string]any{"count": 2, "overdraft": 0, "request_id": "ret-1"})
	require.Equal(t, "SUPPORT_TYPE_RETURN", ret["replaced"].(map[string]any)["support_type"])
	f2 := ret["created"].([]any)[0].(map[string]any)
	require.Equal(t, "SUPPORT_TYPE_MASTER", f2["support_type"])
	require.EqualValues(t, 3, num(f2["count"]))
	require.EqualValues(t, 1, num(f2["overdraft"]))
	require.Equal(t, "fulfillments/"+f1["fulfillment_id"].(string), f2["parent"])
	require.Contains(t, f2["license_text"], "lcad order_co 1.0 permanent 3")
	require.Contains(t, f2["license_text"], "OVERDRAFT=1")
	verifies(f2)
	require.EqualValues(t, 6, available())
	again := admin.ok("POST", name(f1)+":return", map[string]any{"count": 2, "overdraft": 0, "request_id": "ret-1"})
	require.Equal(t, f2["fulfillment_id"], again["created"].([]any)[0].(map[string]any)["fulfillment_id"])
	require.EqualValues(t, 6, available(), "a retried return counts once")
	e := admin.refused(http.StatusConflict, "POST", name(f1)+":return", map[string]any{})
	require.Equal(t, "FULFILLMENT_NOT_MASTER", e["reason"])
	e = admin.refused(http.StatusBadRequest, "POST", name(f2)+":return", map[string]any{"count": 9})
	require.Equal(t, []string{"count"}, fieldViolations(e))

	// Repair: attributes change, hosts and seats do not; one repair allowed.
	e = admin.refused(http.StatusBadRequest, "POST", name(f2)+":repair", map[string]any{"attributes": map[string]any{"time_zone": "Mars/Olympus", "start_time": "2027-01-01T00:00:00Z"}})
	require.ElementsMatch(t, []string{"attributes.time_zone", "attributes.start_time"}, fieldViolations(e))
	rep := admin.ok("POST", name(f2)+":repair", map[string]any{"attributes": map[string]any{"notice": "Repaired", "borrow_hours": 24}})
	f3 := rep["created"].([]any)[0].(map[string]any)
	require.Equal(t, "SUPPORT_TYPE_REPAIR", rep["replaced"].(map[string]any)["support_type"])
	require.Contains(t, f3["license_text"], `NOTICE="Repaired"`)
	require.Contains(t, f3["license_text"], "BORROW=24")
	require.Contains(t, f3["license_text"], "OVERDRAFT=1", "what the repair does not touch stays")
	require.Equal(t, f2["server_host_ids"], f3["server_host_ids"])
	verifies(f3)
	require.EqualValues(t, 6, available())
	e = admin.refused(http.StatusConflict, "POST", name(f3)+":repair", map[string]any{"attributes": map[string]any{"notice": "Again"}})
	require.Equal(t, "POLICY_LIMIT_REACHED", e["reason"])
	require.Equal(t, "1", e["metadata"].(map[string]any)["allowed"])

	// Rehost one seat of the count (and the overdraft) to another host.
	e = admin.refused(http.StatusBadRequest, "POST", name(f3)+":rehost", map[string]any{"hosts": map[string]any{"server_host_ids": []string{"HOSTNAME=s1"}}})
	require.Equal(t, []string{"hosts"}, fieldViolations(e))
	reh := admin.ok("POST", name(f3)+":rehost", map[string]any{"hosts": map[string]any{"server_host_ids": []string{"HOSTNAME=s2"}}, "count": 1})
	require.Equal(t, "SUPPORT_TYPE_REHOST", reh["replaced"].(map[string]any)["support_type"])
	moved, stays := reh["created"].([]any)[0].(map[string]any), reh["created"].([]any)[1].(map[string]any)
	require.Equal(t, []any{"HOSTNAME=s2"}, moved["server_host_ids"])
	require.EqualValues(t, 1, num(moved["count"]))
	require.EqualValues(t, 1, num(moved["overdraft"]))
	require.Equal(t, []any{"HOSTNAME=s1"}, stays["server_host_ids"])
	require.EqualValues(t, 2, num(stays["count"]))
	require.EqualValues(t, 0, num(stays["overdraft"]))
	verifies(moved)
	verifies(stays)
	require.EqualValues(t, 6, available(), "a rehost moves seats, it takes none")

	// Return everything on s2: no successor; then the yearly return limit (2) bites.
	all := admin.ok("POST", name(moved)+":return", map[string]any{})
	require.Empty(t, all["created"])
	require.EqualValues(t, 8, available())
	e = admin.refused(http.StatusConflict, "POST", name(stays)+":return", map[string]any{})
	require.Equal(t, "POLICY_LIMIT_REACHED", e["reason"])
	require.EqualValues(t, 8, available())

	// A model without policies allows no lifecycle operation; other customers and
	// tenants cannot touch the fulfillment.
	plain := admin.ok("POST", "/v1/fulfillments:activate", map[string]any{
		"lines": []any{map[string]any{"line_item": "lineItems/" + ids["SO-B/1"]}}, "hosts": []any{map[string]any{"server_host_ids": []string{"HOSTNAME=p1"}}},
	})["fulfillments"].([]any)[0].(map[string]any)
	e = admin.refused(http.StatusConflict, "POST", name(plain)+":return", map[string]any{})
	require.Equal(t, "POLICY_FORBIDS", e["reason"])
	admin.ok("POST", "/v1/users", map[string]any{"password": "Olga-Password-1", "user": map[string]any{
		"username": "olga", "first_name": "Olga", "last_name": "O", "email": "olga@other.example",
		"memberships": []any{map[string]any{"account": "accounts/OTHER", "roles": []string{"customer_admin"}}},
	}})
	olga := api.as(login(api, "order-co", "olga", "Olga-Password-1"))
	olga.refused(http.StatusNotFound, "POST", name(stays)+":rehost", map[string]any{"hosts": map[string]any{"server_host_ids": []string{"HOSTNAME=olga"}}})
	createTenant(api.as(env.OperatorToken), "life-rival", "Admin-Password-2")
	api.as(login(api, "life-rival", "admin", "Admin-Password-2")).refused(http.StatusNotFound, "POST", name(stays)+":return", map[string]any{})
}

// TestConcurrentReturns_LIC8: ten racing returns of one fulfillment, each with its
// own request ID: exactly one wins and the seats come back once.
func TestConcurrentReturns_LIC8(t *testing.T) {
	env := suitetest.Start(t)
	_, admin := orderWorldIn(t, env)
	admin.ok("POST", "/v1/licenseModels", map[string]any{"license_model_id": "ret", "license_model": map[string]any{
		"display_name": "Ret", "type": "LICENSE_MODEL_TYPE_FLOATING_COUNTED", "returns": map[string]any{"allowed": 100},
	}})
	admin.ok("POST", "/v1/products", map[string]any{"product_id": "rp", "product": map[string]any{
		"display_name": "rp", "version": "1.0", "license_technology": "LICENSE_TECHNOLOGY_CERTIFICATE",
		"features": []any{map[string]any{"name": "rp", "version": "1.0"}}, "license_models": []string{"licenseModels/ret"},
	}})
	created := admin.ok("POST", "/v1/orders:batchCreate", map[string]any{"orders": []any{map[string]any{"order_id": "SO-R", "sold_to": "accounts/ACME", "lines": []any{
		line("1", "rp", 10, "license_model", "licenseModels/ret"),
	}}}})
	li := "lineItems/" + lineItems(created["entitlements"].([]any)[0].(map[string]any))["1"]["activation_id"].(string)
	f := admin.ok("POST", "/v1/"+li+":activate", map[string]any{"host_id": "HOSTNAME=srv", "quantity": 8})
	oneWins(t, 10, func(i int) reply {
		return admin.do("POST", "/v1/fulfillments/"+f["fulfillment_id"].(string)+":return", map[string]any{"count": 3, "request_id": fmt.Sprintf("race-%d", i)})
	})
	require.EqualValues(t, 10-5, num(admin.ok("GET", "/v1/"+li, nil)["available"]))
}

// TestRacingLifecycleOperations_LIC8: returns, repairs and rehosts of one
// fulfillment racing each other: exactly one wins, nothing is half-written, and the
// seats match the winner.
func TestRacingLifecycleOperations_LIC8(t *testing.T) {
	env := suitetest.Start(t)
	_, admin := orderWorldIn(t, env)
	admin.ok("POST", "/v1/licenseModels", map[string]any{"license_model_id": "race", "license_model": map[string]any{
		"display_name": "Race", "type": "LICENSE_MODEL_TYPE_FLOATING_COUNTED",
		"returns": map[string]any{"allowed": 100}, "repairs": map[string]any{"allowed": 100}, "rehosts": map[string]any{"allowed": 100},
	}})
	admin.ok("POST", "/v1/products", map[string]any{"product_id": "rc", "product": map[string]any{
		"display_name": "rc", "version": "1.0", "license_technology": "LICENSE_TECHNOLOGY_CERTIFICATE",
		"features": []any{map[string]any{"name": "rc", "version": "1.0"}}, "license_models": []string{"licenseModels/race"},
	}})
	created := admin.ok("POST", "/v1/orders:batchCreate", map[string]any{"orders": []any{map[string]any{"order_id": "SO-RC", "sold_to": "accounts/ACME", "lines": []any{
		line("1", "rc", 10, "license_model", "licenseModels/race"),
	}}}})
	li := "lineItems/" + lineItems(created["entitlements"].([]any)[0].(map[string]any))["1"]["activation_id"].(string)
	f := admin.ok("POST", "/v1/"+li+":activate", map[string]any{"host_id": "HOSTNAME=srv", "quantity": 4})
	name := "/v1/fulfillments/" + f["fulfillment_id"].(string)
	ops := []struct{ verb string }{{"return"}, {"repair"}, {"rehost"}}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := map[string]int{}
	for i := range 12 {
		op := ops[i%3].verb
		body := map[string]any{"request_id": fmt.Sprintf("%s-%d", op, i)}
		switch op {
		case "return":
			body["count"] = 1
		case "repair":
			body["attributes"] = map[string]any{"notice": "x"}
		case "rehost":
			body["hosts"] = map[string]any{"server_host_ids": []string{fmt.Sprintf("HOSTNAME=n%d", i)}}
		}
		wg.Go(func() {
			r := admin.do("POST", name+":"+op, body)
			mu.Lock()
			defer mu.Unlock()
			if r.Status == http.StatusOK {
				wins[op]++
				return
			}
			require.Equal(t, http.StatusConflict, r.Status, "%s: %s", op, r.Raw)
		})
	}
	wg.Wait()
	total := 0
	for _, n := range wins {
		total += n
	}
	require.Equal(t, 1, total, "exactly one operation wins: %v", wins)
	want := int64(6)
	if wins["return"] == 1 {
		want = 7
	}
	require.Equal(t, want, num(admin.ok("GET", "/v1/"+li, nil)["available"]))
	live := list(admin, "/v1/fulfillments", url.Values{"filter": {`support_type = MASTER AND line_item = "` + li[len("lineItems/"):] + `"`}}, "fulfillments")
	var held int64
	for _, l := range live {
		held += num(l["quantity"])
	}
	require.Equal(t, 10-want, held, "the live fulfillments hold exactly the seats taken")
}

// oneWins makes n racing calls: exactly one succeeds, every other is refused with
// 409 Conflict.
func oneWins(t *testing.T, n int, call func(i int) reply) {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := range n {
		wg.Go(func() {
			r := call(i)
			mu.Lock()
			defer mu.Unlock()
			if r.Status == http.StatusOK {
				won++
			} else {
				require.Equal(t, http.StatusConflict, r.Status, "%s", r.Raw)
			}
		})
	}
	wg.Wait()
	require.Equal(t, 1, won)
}
