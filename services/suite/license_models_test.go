package suite_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// TestLicenseModelUpdate_ENT2: a license model changes through update_mask; once a
// product sells under it, its type is fixed and host ID types may be added, not
// removed; line items keep the extra activations they were made with. Bad masks
// and values are field violations and change nothing; only the producer updates.
func TestLicenseModelUpdate_ENT2(t *testing.T) {
	env := suitetest.Start(t)
	api, admin := orderWorldIn(t, env)
	admin.ok("POST", "/v1/licenseModels", map[string]any{"license_model_id": "flex", "license_model": map[string]any{
		"display_name": "Flex", "type": "LICENSE_MODEL_TYPE_NODELOCKED_COUNTED", "allowed_host_id_types": []string{"HOSTNAME"},
	}})
	patch := func(model map[string]any, mask string) reply {
		return admin.do("PATCH", "/v1/licenseModels/flex", map[string]any{"license_model": model, "update_mask": mask})
	}
	// Unused, anything may change, the type too.
	r := patch(map[string]any{"display_name": "Flex 2", "type": "LICENSE_MODEL_TYPE_FLOATING_COUNTED", "extra_activations": 2}, "displayName,type,extraActivations")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	require.Equal(t, "Flex 2", r.Body["display_name"])
	require.Equal(t, "LICENSE_MODEL_TYPE_FLOATING_COUNTED", r.Body["type"])
	require.EqualValues(t, 2, num(r.Body["extra_activations"]))
	got := admin.ok("GET", "/v1/licenseModels/flex", nil)
	require.Equal(t, r.Body, got)

	// Refusals change nothing.
	e := admin.refused(http.StatusBadRequest, "PATCH", "/v1/licenseModels/flex", map[string]any{"license_model": map[string]any{"display_name": "x"}, "update_mask": "createTime"})
	require.Equal(t, []string{"update_mask"}, fieldViolations(e))
	e = admin.refused(http.StatusBadRequest, "PATCH", "/v1/licenseModels/flex", map[string]any{"license_model": map[string]any{"display_name": "x"}})
	require.Equal(t, []string{"update_mask"}, fieldViolations(e))
	e = admin.refused(http.StatusBadRequest, "PATCH", "/v1/licenseModels/flex", map[string]any{"license_model": map[string]any{"allowed_host_id_types": []string{"BOGUS"}, "display_name": "x"}, "update_mask": "allowedHostIdTypes,displayName"})
	require.Equal(t, []string{"license_model.allowed_host_id_types"}, fieldViolations(e))
	e = admin.refused(http.StatusBadRequest, "PATCH", "/v1/licenseModels/flex", map[string]any{"license_model": map[string]any{"display_name": ""}, "update_mask": "displayName"})
	require.Equal(t, []string{"license_model.display_name"}, fieldViolations(e))
	e = admin.refused(http.StatusBadRequest, "PATCH", "/v1/licenseModels/flex", map[string]any{"license_model": map[string]any{"extra_activations": -1}, "update_mask": "extraActivations"})
	require.Equal(t, []string{"license_model.extra_activations"}, fieldViolations(e))
	require.Equal(t, got, admin.ok("GET", "/v1/licenseModels/flex", nil), "nothing changed")
	admin.refused(http.StatusNotFound, "PATCH", "/v1/licenseModels/nope", map[string]any{"license_model": map[string]any{"display_name": "x"}, "update_mask": "displayName"})

	// In use: the type is fixed, host ID types only grow.
	admin.ok("PATCH", "/v1/products/cad", map[string]any{"product": map[string]any{"license_models": []string{"licenseModels/node", "licenseModels/flex"}}, "update_mask": "licenseModels"})
	before := lineItems(admin.ok("POST", "/v1/orders", map[string]any{"order_id": "SO-F1", "sold_to": "accounts/ACME", "lines": []any{line("1", "cad", 5, "license_model", "licenseModels/flex")}}))["1"]
	require.EqualValues(t, 2, num(before["extra_activations"]))
	r = patch(map[string]any{"type": "LICENSE_MODEL_TYPE_NODELOCKED_COUNTED"}, "type")
	require.Equal(t, http.StatusConflict, r.Status, "%s", r.Raw)
	require.Equal(t, "LICENSE_MODEL_IN_USE", reason(r))
	r = patch(map[string]any{"allowed_host_id_types": []string{"ETHER"}}, "allowedHostIdTypes")
	require.Equal(t, http.StatusConflict, r.Status, "%s", r.Raw)
	require.Equal(t, "LICENSE_MODEL_IN_USE", reason(r))
	r = patch(map[string]any{"allowed_host_id_types": []string{"HOSTNAME", "ETHER"}, "extra_activations": 7, "defaults": map[string]any{"notice": "new"}}, "allowedHostIdTypes,extraActivations,defaults")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	require.Equal(t, []any{"HOSTNAME", "ETHER"}, r.Body["allowed_host_id_types"])
	require.EqualValues(t, 2, num(admin.ok("GET", "/v1/lineItems/"+before["activation_id"].(string), nil)["extra_activations"]), "a line item keeps what it was made with")
	after := lineItems(admin.ok("POST", "/v1/orders", map[string]any{"order_id": "SO-F2", "sold_to": "accounts/ACME", "lines": []any{line("1", "cad", 5, "license_model", "licenseModels/flex")}}))["1"]
	require.EqualValues(t, 7, num(after["extra_activations"]), "new line items take the model as it is now")

	// Each change is on the audit trail; customers may read models, not change them.
	updates := list(admin, "/v1/services/entitlement/auditEvents", url.Values{"filter": {`subject:"license_model.updated"`}}, "audit_events")
	require.Len(t, updates, 2, "two changes made, refusals recorded nothing")
	admin.ok("POST", "/v1/users", map[string]any{"password": "Cara-Password-1", "user": map[string]any{
		"username": "cara", "first_name": "Cara", "last_name": "C", "email": "cara@acme.example",
		"memberships": []any{map[string]any{"account": "accounts/ACME", "roles": []string{"customer_admin"}}},
	}})
	customer := api.as(login(api, "order-co", "cara", "Cara-Password-1"))
	require.Len(t, list(customer, "/v1/licenseModels", url.Values{}, "license_models"), 2)
	customer.refused(http.StatusForbidden, "PATCH", "/v1/licenseModels/flex", map[string]any{"license_model": map[string]any{"display_name": "mine"}, "update_mask": "displayName"})
	filtered := list(admin, "/v1/licenseModels", url.Values{"filter": {`type = FLOATING_COUNTED`}}, "license_models")
	require.Len(t, filtered, 1)
	require.Equal(t, "flex", filtered[0]["license_model_id"])
	admin.refused(http.StatusBadRequest, "GET", "/v1/licenseModels?filter="+url.QueryEscape("type = NOPE"), nil)
}
