package suite_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// TestProductLineFiltering_ACC16: a user linked to product lines sees (and activates)
// only line items of products in them; without links, or as a producer, everything.
func TestProductLineFiltering_ACC16(t *testing.T) {
	env := suitetest.Start(t)
	api := rest{t: t, base: env.Suite.GatewayURL}
	createTenant(api.as(env.OperatorToken), "line-co", "Admin-Password-1")
	admin := api.as(login(api, "line-co", "admin", "Admin-Password-1"))
	admin.ok("POST", "/v1/accounts", map[string]any{"account_id": "ACME", "account": map[string]any{"display_name": "Acme", "type": "ACCOUNT_TYPE_CUSTOMER"}})
	for _, pl := range []string{"design", "simulation"} {
		admin.ok("POST", "/v1/productLines", map[string]any{"product_line_id": pl, "product_line": map[string]any{"display_name": pl}})
	}
	e := admin.refused(http.StatusBadRequest, "POST", "/v1/productLines", map[string]any{"product_line_id": "x"})
	require.Equal(t, []string{"product_line.display_name"}, fieldViolations(e))
	admin.ok("POST", "/v1/licenseModels", map[string]any{"license_model_id": "node", "license_model": map[string]any{"display_name": "Node", "type": "LICENSE_MODEL_TYPE_NODELOCKED_UNCOUNTED", "allowed_host_id_types": []string{"HOSTNAME"}}})
	product := func(id, line string) map[string]any {
		return map[string]any{"product_id": id, "product": map[string]any{
			"display_name": id, "version": "1.0", "license_technology": "LICENSE_TECHNOLOGY_CERTIFICATE", "product_line": line,
			"features": []any{map[string]any{"name": id, "version": "1.0"}}, "license_models": []string{"licenseModels/node"},
		}}
	}
	e = admin.refused(http.StatusBadRequest, "POST", "/v1/products", product("ghost", "productLines/nope"))
	require.Equal(t, []string{"product.product_line"}, fieldViolations(e))
	require.Equal(t, "productLines/design", admin.ok("POST", "/v1/products", product("cad", "productLines/design"))["product_line"])
	admin.ok("POST", "/v1/products", product("sim", "productLines/simulation"))
	ent := admin.ok("POST", "/v1/orders", map[string]any{"order_id": "SO-1", "sold_to": "accounts/ACME", "lines": []any{
		map[string]any{"line_number": "1", "product": "products/cad", "license_model": "licenseModels/node", "quantity": 5},
		map[string]any{"line_number": "2", "product": "products/sim", "license_model": "licenseModels/node", "quantity": 5},
	}})
	entPath := "/v1/entitlements/" + ent["entitlement_id"].(string)
	cadAct := ent["line_items"].([]any)[0].(map[string]any)["activation_id"].(string)
	simAct := ent["line_items"].([]any)[1].(map[string]any)["activation_id"].(string)

	user := func(name string, lines []string) map[string]any {
		return map[string]any{"password": "Line-Password-1", "user": map[string]any{
			"username": name, "first_name": name, "last_name": "L", "email": name + "@acme.example", "product_lines": lines,
			"memberships": []any{map[string]any{"account": "accounts/ACME", "roles": []string{"customer_admin"}}},
		}}
	}
	e = admin.refused(http.StatusBadRequest, "POST", "/v1/users", user("nobody", []string{"productLines/nope"}))
	require.Equal(t, []string{"user.product_lines[0]"}, fieldViolations(e))
	dina := admin.ok("POST", "/v1/users", user("dina", []string{"productLines/design"}))
	require.Equal(t, []any{"productLines/design"}, dina["product_lines"])
	admin.ok("POST", "/v1/users", user("otto", nil))
	designer := api.as(login(api, "line-co", "dina", "Line-Password-1"))
	other := api.as(login(api, "line-co", "otto", "Line-Password-1"))

	items := designer.ok("GET", entPath, nil)["line_items"].([]any)
	require.Len(t, items, 1)
	require.Equal(t, cadAct, items[0].(map[string]any)["activation_id"])
	designer.ok("GET", "/v1/lineItems/"+cadAct, nil)
	designer.refused(http.StatusNotFound, "GET", "/v1/lineItems/"+simAct, nil)
	designer.refused(http.StatusNotFound, "POST", "/v1/lineItems/"+simAct+":activate", map[string]any{"host_id": "HOSTNAME=h1", "quantity": 1})
	ful := designer.ok("POST", "/v1/lineItems/"+cadAct+":activate", map[string]any{"host_id": "HOSTNAME=h1", "quantity": 1})
	designer.ok("GET", "/v1/"+ful["name"].(string), nil)
	simFul := other.ok("POST", "/v1/lineItems/"+simAct+":activate", map[string]any{"host_id": "HOSTNAME=h2", "quantity": 1})
	designer.refused(http.StatusNotFound, "GET", "/v1/"+simFul["name"].(string), nil)
	require.Len(t, other.ok("GET", entPath, nil)["line_items"], 2, "a user without product lines sees every line")
	require.Len(t, admin.ok("GET", entPath, nil)["line_items"], 2)

	// Unlinking takes effect on the next request.
	admin.ok("PATCH", "/v1/"+dina["name"].(string), map[string]any{"user": map[string]any{"product_lines": []string{}}, "update_mask": "productLines"})
	require.Len(t, designer.ok("GET", entPath, nil)["line_items"], 2)
}
