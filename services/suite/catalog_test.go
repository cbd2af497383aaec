package suite_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// TestLicenseModels_ENT2: a model carries extra activations, overdraft, license
// defaults and return/repair/rehost policies; bad values are refused by field.
func TestLicenseModels_ENT2(t *testing.T) {
	env := suitetest.Start(t)
	api := rest{t: t, base: env.Suite.GatewayURL}
	createTenant(api.as(env.OperatorToken), "cat-co", "Admin-Password-1")
	admin := api.as(login(api, "cat-co", "admin", "Admin-Password-1"))

	e := admin.refused(http.StatusBadRequest, "POST", "/v1/licenseModels", map[string]any{"license_model_id": "bad", "license_model": map[string]any{
		"display_name": "Bad", "type": "LICENSE_MODEL_TYPE_FLOATING_COUNTED", "extra_activations": -1,
		"defaults": map[string]any{"borrow_hours": 10000, "vm_platforms": "cloud", "time_zone": "Mars/Base", "platforms": []string{"X 64"}, "notice": `say "hi"`},
		"returns":  map[string]any{"allowed": -1}, "rehosts": map[string]any{"allowed": 2, "period": "every month"},
	}})
	require.ElementsMatch(t, []string{
		"license_model.extra_activations", "license_model.defaults.borrow_hours", "license_model.defaults.vm_platforms",
		"license_model.defaults.time_zone", "license_model.defaults.platforms[0]", "license_model.defaults.notice",
		"license_model.returns.allowed", "license_model.rehosts.period",
	}, fieldViolations(e))
	admin.refused(http.StatusNotFound, "GET", "/v1/licenseModels/bad", nil)

	model := map[string]any{"license_model_id": "server", "license_model": map[string]any{
		"display_name": "Server", "type": "LICENSE_MODEL_TYPE_FLOATING_COUNTED", "allowed_host_id_types": []string{"HOSTNAME", "ETHER"},
		"extra_activations": 2, "overdraft_allowed": true,
		"defaults": map[string]any{
			"borrow_hours": 72, "ts_ok": true, "vm_platforms": "physical_only", "time_zone": "Europe/Berlin",
			"platforms": []string{"x64_lsb", "x64_n6"}, "issuer": "Acme Soft", "notice": "Licensed to Acme", "vendor_string": "tier=gold", "use_server": true,
		},
		"returns": map[string]any{"allowed": 2, "period": "1Y"}, "repairs": map[string]any{"allowed": 5}, "rehosts": map[string]any{"allowed": 1, "period": "6M"},
	}, "request_id": "lm-1"}
	got := admin.ok("POST", "/v1/licenseModels", model)
	require.Equal(t, got, admin.ok("POST", "/v1/licenseModels", model), "a retried create returns the first model")
	read := admin.ok("GET", "/v1/licenseModels/server", nil)
	require.EqualValues(t, "2", read["extra_activations"])
	require.Equal(t, true, read["overdraft_allowed"])
	d := read["defaults"].(map[string]any)
	require.EqualValues(t, 72, d["borrow_hours"])
	require.Equal(t, "Europe/Berlin", d["time_zone"])
	require.Equal(t, []any{"x64_lsb", "x64_n6"}, d["platforms"])
	require.Equal(t, map[string]any{"allowed": float64(2), "period": "1Y"}, read["returns"])
	require.Equal(t, map[string]any{"allowed": float64(1), "period": "6M"}, read["rehosts"])
}

// TestCatalog_ENT1: products of two kinds, maintenance for other products, upgrade
// and upsell relations that must point at real other products, license models only
// ever added, and a searchable, paged product list.
func TestCatalog_ENT1(t *testing.T) {
	env := suitetest.Start(t)
	api := rest{t: t, base: env.Suite.GatewayURL}
	createTenant(api.as(env.OperatorToken), "cat-co", "Admin-Password-1")
	createTenant(api.as(env.OperatorToken), "cat-rival", "Admin-Password-2")
	admin := api.as(login(api, "cat-co", "admin", "Admin-Password-1"))
	rival := api.as(login(api, "cat-rival", "admin", "Admin-Password-2"))
	for _, m := range []string{"node", "float"} {
		admin.ok("POST", "/v1/licenseModels", map[string]any{"license_model_id": m, "license_model": map[string]any{"display_name": m, "type": "LICENSE_MODEL_TYPE_NODELOCKED_UNCOUNTED"}})
	}
	product := func(id, version string, extra map[string]any) map[string]any {
		p := map[string]any{
			"display_name": "CAD " + version, "version": version, "license_technology": "LICENSE_TECHNOLOGY_CERTIFICATE",
			"features": []any{map[string]any{"name": "cad", "version": version}}, "license_models": []string{"licenseModels/node"},
		}
		for k, v := range extra {
			p[k] = v
		}
		return map[string]any{"product_id": id, "product": p}
	}
	admin.ok("POST", "/v1/products", product("cad-1", "1.0", nil))
	admin.ok("POST", "/v1/products", product("cad-2", "2.0", nil))
	e := admin.refused(http.StatusBadRequest, "POST", "/v1/products", product("cad-x", "1.0", map[string]any{"upgrade_to": []string{"products/cad-x"}, "maintained_products": []string{"products/cad-1"}}))
	require.ElementsMatch(t, []string{"product.upgrade_to[0]", "product.maintained_products"}, fieldViolations(e))
	e = admin.refused(http.StatusBadRequest, "POST", "/v1/products", product("cad-x", "1.0", map[string]any{"upsell_to": []string{"products/ghost"}}))
	require.Equal(t, []string{"product.upsell_to[0]"}, fieldViolations(e))

	maint := admin.ok("POST", "/v1/products", product("cad-care", "1.0", map[string]any{"kind": "PRODUCT_KIND_MAINTENANCE", "maintained_products": []string{"products/cad-1", "products/cad-2"}}))
	require.Equal(t, "PRODUCT_KIND_MAINTENANCE", maint["kind"])
	require.Equal(t, []any{"products/cad-1", "products/cad-2"}, maint["maintained_products"])
	require.Equal(t, "PRODUCT_KIND_STANDARD", admin.ok("GET", "/v1/products/cad-1", nil)["kind"])

	up := admin.ok("PATCH", "/v1/products/cad-1", map[string]any{"product": map[string]any{
		"upgrade_to": []string{"products/cad-2"}, "upsell_to": []string{"products/cad-care"}, "license_models": []string{"licenseModels/node", "licenseModels/float"},
	}, "update_mask": "upgradeTo,upsellTo,licenseModels"})
	require.Equal(t, []any{"products/cad-2"}, up["upgrade_to"])
	require.Equal(t, []any{"licenseModels/node", "licenseModels/float"}, up["license_models"])
	e = admin.refused(http.StatusBadRequest, "PATCH", "/v1/products/cad-1", map[string]any{"product": map[string]any{"license_models": []string{"licenseModels/float"}}, "update_mask": "licenseModels"})
	require.Equal(t, []string{"product.license_models"}, fieldViolations(e), "models are never taken away")
	admin.refused(http.StatusBadRequest, "PATCH", "/v1/products/cad-1", map[string]any{"product": map[string]any{"features": []any{}}, "update_mask": "features"})
	rival.refused(http.StatusNotFound, "PATCH", "/v1/products/cad-1", map[string]any{"product": map[string]any{"display_name": "mine"}, "update_mask": "displayName"})

	// Search and pages (PLT-2).
	require.Equal(t, []string{"cad-care"}, collect(t, admin, "/v1/products", "products", "product_id", url.Values{"filter": {"kind = MAINTENANCE"}}))
	require.Equal(t, []string{"cad-1", "cad-2"}, collect(t, admin, "/v1/products", "products", "product_id", url.Values{"filter": {`version = "*.0" AND kind = STANDARD`}, "order_by": {"display_name"}, "page_size": {"1"}}))
	require.Empty(t, collect(t, rival, "/v1/products", "products", "product_id", nil), "another tenant's catalog is its own")
}
