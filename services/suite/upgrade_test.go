package suite_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/license/licfile"
	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// TestUpgrade_LIC9: an upgrade line item's grid shows per host the copies its parent's
// fulfillments hold; moving copies takes them from the largest fulfillments first,
// marks those UPGRADE, keeps the rest on the parent, and licenses the new product,
// with seats moving exactly and counts checked at generation.
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
	require.EqualValues(t, 1+5, available(v1), "five seats went back to the parent")
	require.EqualValues(t, 0, available(v2), "and were taken on the upgrade")
	again := admin.ok("POST", "/v1/lineItems/"+v2+":upgrade", move("HOSTNAME=a", 5, "request_id", "up-1"))
	require.Equal(t, moved["fulfillment_id"], again["created"].([]any)[1].(map[string]any)["fulfillment_id"])
	require.EqualValues(t, 0, available(v2), "a retry moves nothing again")

	e = admin.refused(http.StatusConflict, "POST", "/v1/lineItems/"+v2+":upgrade", move("HOSTNAME=b", 3))
	require.Equal(t, "QUANTITY_EXCEEDED", e["reason"], "the upgrade line item has no seats left")
	require.EqualValues(t, 6, available(v1))
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
	require.EqualValues(t, 10-1, num(admin.ok("GET", "/v1/lineItems/"+v1, nil)["available"]), "one copy stays on the parent")
	require.EqualValues(t, 10-5, num(admin.ok("GET", "/v1/lineItems/"+v2, nil)["available"]), "five on the upgrade, once")
}
