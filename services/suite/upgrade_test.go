package suite_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/license/licfile"
	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// TestUpgrade_LIC9: an upgrade line item's grid shows per host the copies its parent's
// fulfillments hold; moving copies takes them from the largest fulfillments first,
// marks those UPGRADE, keeps the rest on the parent, and licenses the new product,
// with the parent's seats staying consumed and counts checked at generation.
func TestUpgrade_LIC9(t *testing.T) {
	env := suitetest.Start(t)
	api, admin, _ := batchWorld(t, env)
	for _, p := range []string{"u2", "u1"} {
		body := map[string]any{
			"display_name": p, "version": p[1:] + ".0", "license_technology": "LICENSE_TECHNOLOGY_CERTIFICATE",
			"features": []any{map[string]any{"name": "u", "version": p[1:] + ".0"}}, "license_models": []string{"licenseModels/float"},
		}
		if p == "u1" {
			body["upgrade_to"] = []string{"products/u2"}
		}
		admin.ok("POST", "/v1/products", map[string]any{"product_id": p, "product": body})
	}
	first := admin.ok("POST", "/v1/orders", map[string]any{"order_id": "SO-U1", "sold_to": "accounts/ACME", "lines": []any{line("1", "u1", 10, "license_model", "licenseModels/float")}})
	v1 := first["line_items"].([]any)[0].(map[string]any)["activation_id"].(string)
	no := false
	activate := func(host string, count int) {
		admin.ok("POST", "/v1/fulfillments:activate", map[string]any{
			"lines": []any{map[string]any{"line_item": "lineItems/" + v1, "counts": []any{map[string]any{"host": 0, "count": count}}}},
			"hosts": []any{map[string]any{"server_host_ids": []string{host}}}, "attributes": map[string]any{"consolidate": no},
		})
	}
	activate("HOSTNAME=a", 4)
	activate("HOSTNAME=a", 2)
	activate("HOSTNAME=b", 3)
	up := admin.ok("POST", "/v1/orders", map[string]any{"order_id": "SO-U2", "sold_to": "accounts/ACME", "lines": []any{
		line("1", "u2", 5, "license_model", "licenseModels/float", "type", "LINE_ITEM_TYPE_UPGRADE", "supersedes", v1),
	}})
	v2 := up["line_items"].([]any)[0].(map[string]any)["activation_id"].(string)
	available := func(id string) int64 { return num(admin.ok("GET", "/v1/lineItems/"+id, nil)["available"]) }

	e := admin.refused(http.StatusConflict, "GET", "/v1/lineItems/"+v1+":upgradeGrid", nil)
	require.Equal(t, "NOT_AN_UPGRADE", e["reason"])
	grid := admin.ok("GET", "/v1/lineItems/"+v2+":upgradeGrid", nil)
	require.Equal(t, "lineItems/"+v1, grid["parent"])
	require.Equal(t, "UPGRADE", grid["kind"])
	rows := grid["rows"].([]any)
	require.Len(t, rows, 2)
	require.Equal(t, []any{"HOSTNAME=a"}, rows[0].(map[string]any)["server_host_ids"])
	require.EqualValues(t, 6, num(rows[0].(map[string]any)["copies"]))
	require.Len(t, rows[0].(map[string]any)["fulfillments"], 2)

	move := func(host string, count int, extra ...any) map[string]any {
		m := map[string]any{"moves": []any{map[string]any{"server_host_ids": []string{host}, "count": count}}}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i].(string)] = extra[i+1]
		}
		return m
	}
	e = admin.refused(http.StatusBadRequest, "POST", "/v1/lineItems/"+v2+":upgrade", move("HOSTNAME=zz", 1))
	require.Equal(t, []string{"moves[0]"}, fieldViolations(e))
	e = admin.refused(http.StatusBadRequest, "POST", "/v1/lineItems/"+v2+":upgrade", move("HOSTNAME=a", 7))
	require.Equal(t, []string{"moves[0].count"}, fieldViolations(e))
	dry := admin.ok("POST", "/v1/lineItems/"+v2+":upgrade", move("HOSTNAME=a", 5, "validate_only", true))
	require.Equal(t, true, dry["validate_only"])
	require.EqualValues(t, 1, available(v1))

	res := admin.ok("POST", "/v1/lineItems/"+v2+":upgrade", move("HOSTNAME=a", 5, "request_id", "up-1"))
	replaced := res["replaced"].([]any)
	require.Len(t, replaced, 2, "the 4 and one of the 2")
	for _, r := range replaced {
		require.Equal(t, "SUPPORT_TYPE_UPGRADE", r.(map[string]any)["support_type"])
	}
	created := res["created"].([]any)
	require.Len(t, created, 2)
	stays, moved := created[0].(map[string]any), created[1].(map[string]any)
	require.Equal(t, "lineItems/"+v1, stays["line_item"])
	require.EqualValues(t, 1, num(stays["count"]))
	require.Equal(t, "lineItems/"+v2, moved["line_item"])
	require.EqualValues(t, 5, num(moved["count"]))
	require.Equal(t, "products/u2", moved["product"])
	require.Contains(t, moved["license_text"], "INCREMENT u order_co 2.0 permanent 5")
	_, err := licfile.Verify(moved["license_text"].(string), keysOf(t, api.ok("GET", "/v1/tenants/order-co/publicKeys", nil)))
	require.NoError(t, err)
	require.EqualValues(t, 1, available(v1), "the five seats that moved stay consumed on the parent")
	require.EqualValues(t, 0, available(v2), "and were taken on the upgrade")
	again := admin.ok("POST", "/v1/lineItems/"+v2+":upgrade", move("HOSTNAME=a", 5, "request_id", "up-1"))
	require.Equal(t, moved["fulfillment_id"], again["created"].([]any)[1].(map[string]any)["fulfillment_id"])
	require.EqualValues(t, 0, available(v2), "a retry moves nothing again")

	e = admin.refused(http.StatusConflict, "POST", "/v1/lineItems/"+v2+":upgrade", move("HOSTNAME=b", 3))
	require.Equal(t, "QUANTITY_EXCEEDED", e["reason"], "the upgrade line item has no seats left")
	require.EqualValues(t, 1, available(v1))
	grid = admin.ok("GET", "/v1/lineItems/"+v2+":upgradeGrid", nil)
	require.EqualValues(t, 1, num(grid["rows"].([]any)[0].(map[string]any)["copies"]))
}

// TestRacingUpgrades_LIC9: five upgrades of the same copies at once: one wins, the
// seats of both line items stay exact.
func TestRacingUpgrades_LIC9(t *testing.T) {
	env := suitetest.Start(t)
	_, admin, _ := batchWorld(t, env)
	for _, p := range []string{"r2", "r1"} {
		body := map[string]any{
			"display_name": p, "version": "1.0", "license_technology": "LICENSE_TECHNOLOGY_CERTIFICATE",
			"features": []any{map[string]any{"name": p, "version": "1.0"}}, "license_models": []string{"licenseModels/float"},
		}
		if p == "r1" {
			body["upgrade_to"] = []string{"products/r2"}
		}
		admin.ok("POST", "/v1/products", map[string]any{"product_id": p, "product": body})
	}
	v1 := admin.ok("POST", "/v1/orders", map[string]any{"order_id": "SO-R1", "sold_to": "accounts/ACME", "lines": []any{line("1", "r1", 10, "license_model", "licenseModels/float")}})["line_items"].([]any)[0].(map[string]any)["activation_id"].(string)
	admin.ok("POST", "/v1/lineItems/"+v1+":activate", map[string]any{"host_id": "HOSTNAME=a", "quantity": 6})
	v2 := admin.ok("POST", "/v1/orders", map[string]any{"order_id": "SO-R2", "sold_to": "accounts/ACME", "lines": []any{
		line("1", "r2", 10, "license_model", "licenseModels/float", "type", "LINE_ITEM_TYPE_UPGRADE", "supersedes", v1),
	}})["line_items"].([]any)[0].(map[string]any)["activation_id"].(string)
	oneWins(t, 5, func(i int) reply {
		return admin.do("POST", "/v1/lineItems/"+v2+":upgrade", map[string]any{
			"moves": []any{map[string]any{"server_host_ids": []string{"HOSTNAME=a"}, "count": 5}}, "request_id": fmt.Sprintf("up-%d", i),
		})
	})
	require.EqualValues(t, 10-6, num(admin.ok("GET", "/v1/lineItems/"+v1, nil)["available"]), "the parent's seats stay consumed, one copy stays on it")
	require.EqualValues(t, 10-5, num(admin.ok("GET", "/v1/lineItems/"+v2, nil)["available"]), "five on the upgrade, once")
}

// TestUpgradeKeepsTheParentsSeats_LIC9: the seed's scenario — line item L1 of P1 with
// fulfillments of 2 and 3 seats on dogma, upgraded to P3. The grid shows 5 copies
// on dogma; moving 4 takes the 3 whole and 1 of the 2. The seats behind the moved
// copies stay consumed on L1, so L1 cannot be activated past what was bought, the
// live seats over the chain never exceed the purchase, and a later return of what
// stayed on L1 (or of the upgrade) gives back only its own seats. An overdraft
// left without copies goes back.
func TestUpgradeKeepsTheParentsSeats_LIC9(t *testing.T) {
	env := suitetest.Start(t)
	_, admin, _ := batchWorld(t, env)
	for _, m := range []string{"chain", "ovr"} {
		admin.ok("POST", "/v1/licenseModels", map[string]any{"license_model_id": m, "license_model": map[string]any{
			"display_name": m, "type": "LICENSE_MODEL_TYPE_FLOATING_COUNTED", "allowed_host_id_types": []string{"HOSTNAME"},
			"overdraft_allowed": m == "ovr", "returns": map[string]any{"allowed": 9},
		}})
	}
	for _, p := range []string{"p3", "p1"} {
		body := map[string]any{
			"display_name": p, "version": p[1:] + ".0", "license_technology": "LICENSE_TECHNOLOGY_CERTIFICATE",
			"features": []any{map[string]any{"name": "p", "version": p[1:] + ".0"}}, "license_models": []string{"licenseModels/chain", "licenseModels/ovr"},
		}
		if p == "p1" {
			body["upgrade_to"] = []string{"products/p3"}
		}
		admin.ok("POST", "/v1/products", map[string]any{"product_id": p, "product": body})
	}
	order := func(id string, l map[string]any) string {
		return admin.ok("POST", "/v1/orders", map[string]any{"order_id": id, "sold_to": "accounts/ACME", "lines": []any{l}})["line_items"].([]any)[0].(map[string]any)["activation_id"].(string)
	}
	lineItem := func(id string) map[string]any { return admin.ok("GET", "/v1/lineItems/"+id, nil) }
	activate := func(id, host string, count, overdraft int) reply {
		return admin.do("POST", "/v1/fulfillments:activate", map[string]any{
			"lines":      []any{map[string]any{"line_item": "lineItems/" + id, "counts": []any{map[string]any{"host": 0, "count": count, "overdraft": overdraft}}}},
			"hosts":      []any{map[string]any{"server_host_ids": []string{host}}},
			"attributes": map[string]any{"consolidate": false},
		})
	}
	l1 := order("SO-L1", line("1", "p1", 5, "license_model", "licenseModels/chain"))
	require.Equal(t, http.StatusOK, activate(l1, "HOSTNAME=dogma", 2, 0).Status)
	require.Equal(t, http.StatusOK, activate(l1, "HOSTNAME=dogma", 3, 0).Status)
	p3 := order("SO-L3", line("1", "p3", 4, "license_model", "licenseModels/chain", "type", "LINE_ITEM_TYPE_UPGRADE", "supersedes", l1))

	grid := admin.ok("GET", "/v1/lineItems/"+p3+":upgradeGrid", nil)
	require.Len(t, grid["rows"], 1)
	row := grid["rows"].([]any)[0].(map[string]any)
	require.Equal(t, []any{"HOSTNAME=dogma"}, row["server_host_ids"])
	require.EqualValues(t, 5, num(row["copies"]), "the sum of both fulfillments on dogma")
	require.Len(t, row["fulfillments"], 2)

	res := admin.ok("POST", "/v1/lineItems/"+p3+":upgrade", map[string]any{"moves": []any{map[string]any{"server_host_ids": []string{"HOSTNAME=dogma"}, "count": 4}}})
	require.Len(t, res["replaced"], 2, "the 3 whole and 1 of the 2")
	created := res["created"].([]any)
	require.Len(t, created, 2)
	kept, moved := created[0].(map[string]any), created[1].(map[string]any)
	require.EqualValues(t, 1, num(kept["count"]))
	require.Equal(t, "lineItems/"+l1, kept["line_item"])
	require.EqualValues(t, 4, num(moved["count"]))
	require.Equal(t, "lineItems/"+p3, moved["line_item"])

	require.EqualValues(t, 5, num(lineItem(l1)["fulfilled"]), "the moved seats stay consumed on P1")
	require.EqualValues(t, 0, num(lineItem(l1)["available"]))
	require.EqualValues(t, 0, num(lineItem(p3)["available"]))
	r := activate(l1, "HOSTNAME=other", 1, 0)
	require.Equal(t, http.StatusConflict, r.Status, "P1 cannot be activated again past what was bought")
	require.Equal(t, "QUANTITY_EXCEEDED", r.Body["error"].(map[string]any)["reason"])
	grid = admin.ok("GET", "/v1/lineItems/"+p3+":upgradeGrid", nil)
	require.EqualValues(t, 1, num(grid["rows"].([]any)[0].(map[string]any)["copies"]), "one copy is left to upgrade")
	live := func() int64 {
		var n int64
		for _, f := range list(admin, "/v1/fulfillments", url.Values{"filter": {"support_type = MASTER"}}, "fulfillments") {
			n += num(f["count"])
		}
		return n
	}
	require.EqualValues(t, 5, live(), "the chain holds what was bought: 1 of P1 and 4 of P3")

	// Returning what stayed on P1 gives back its one seat, not the moved ones.
	admin.ok("POST", "/v1/fulfillments/"+kept["fulfillment_id"].(string)+":return", map[string]any{})
	require.EqualValues(t, 1, num(lineItem(l1)["available"]))
	require.Equal(t, http.StatusOK, activate(l1, "HOSTNAME=other", 1, 0).Status)
	require.EqualValues(t, 0, num(lineItem(l1)["available"]))
	// Returning the upgrade gives its seats back to P3; P1's stay consumed.
	admin.ok("POST", "/v1/fulfillments/"+moved["fulfillment_id"].(string)+":return", map[string]any{})
	require.EqualValues(t, 4, num(lineItem(p3)["available"]))
	require.EqualValues(t, 0, num(lineItem(l1)["available"]))
	require.EqualValues(t, 1, live())

	// With overdraft: 2 copies and 1 overdraft seat, both copies upgraded. The two
	// stay consumed; the overdraft seat, with no copy left, goes back.
	o1 := order("SO-O1", line("1", "p1", 2, "license_model", "licenseModels/ovr"))
	require.Equal(t, http.StatusOK, activate(o1, "HOSTNAME=ovr", 2, 1).Status)
	require.EqualValues(t, 3, num(lineItem(o1)["fulfilled"]))
	o3 := order("SO-O3", line("1", "p3", 2, "license_model", "licenseModels/ovr", "type", "LINE_ITEM_TYPE_UPGRADE", "supersedes", o1))
	admin.ok("POST", "/v1/lineItems/"+o3+":upgrade", map[string]any{"moves": []any{map[string]any{"server_host_ids": []string{"HOSTNAME=ovr"}, "count": 2}}})
	require.EqualValues(t, 2, num(lineItem(o1)["fulfilled"]), "the copies' seats stay, the overdraft's went back")
	require.EqualValues(t, 2, num(lineItem(o3)["fulfilled"]))
}
