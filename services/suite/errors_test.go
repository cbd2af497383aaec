package suite_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// TestCustomerErrors_LIC13: the refusals a customer meets say what is wrong in words
// they understand, with a stable reason and the field or numbers involved.
func TestCustomerErrors_LIC13(t *testing.T) {
	env := suitetest.Start(t)
	_, admin, ids := batchWorld(t, env)
	activate := func(lineItem string, body map[string]any) map[string]any {
		return admin.do("POST", "/v1/lineItems/"+lineItem+":activate", body).Body["error"].(map[string]any)
	}

	// Quantity 0: the order was cancelled or refunded.
	admin.ok("POST", "/v1/orders:batchCreate", map[string]any{"orders": []any{map[string]any{"order_id": "SO-B", "sold_to": "accounts/ACME", "lines": []any{
		line("2", "fsim", 0, "license_model", "licenseModels/float"),
	}}}})
	e := activate(ids["SO-B/2"], map[string]any{"host_id": "HOSTNAME=a", "quantity": 1})
	require.Equal(t, "LINE_ITEM_CANCELLED", e["reason"])
	require.Contains(t, e["message"], "cancelled or refunded")

	// More than available: how many there are and how many were asked for.
	e = activate(ids["SO-B/1"], map[string]any{"host_id": "HOSTNAME=a", "quantity": 11})
	require.Equal(t, "QUANTITY_EXCEEDED", e["reason"])
	require.Contains(t, e["message"], "10 seats available, 11 requested")
	require.Equal(t, map[string]any{"available": "10", "requested": "11"}, e["metadata"])

	// A malformed host ID: which rule it breaks.
	e = activate(ids["SO-B/1"], map[string]any{"host_id": "ETHER=12-34", "quantity": 1})
	require.Equal(t, "HOST_ID_INVALID", e["reason"])
	require.Contains(t, e["message"], "12 hex digits")
	require.Equal(t, "ether_12_hex", e["metadata"].(map[string]any)["rule"])
	require.Equal(t, []string{"host_id"}, fieldViolations(e))

	// Bad dates: not a date at all, or one out of range.
	r := admin.do("POST", "/v1/fulfillments:activate", map[string]any{
		"lines": []any{map[string]any{"line_item": "lineItems/" + ids["SO-B/4"]}}, "hosts": []any{map[string]any{"server_host_ids": []string{"HOSTNAME=a"}}},
		"attributes": map[string]any{"start_time": "31.12.2026"},
	})
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Raw)
	e = admin.refused(http.StatusBadRequest, "POST", "/v1/fulfillments:activate", map[string]any{
		"lines": []any{map[string]any{"line_item": "lineItems/" + ids["SO-B/4"]}}, "hosts": []any{map[string]any{"server_host_ids": []string{"HOSTNAME=a"}}},
		"attributes": map[string]any{"start_time": "2040-01-01T00:00:00Z"},
	})
	require.Equal(t, []string{"attributes.start_time"}, fieldViolations(e))

	// A policy limit: which operation, how many, over what period.
	f := admin.ok("POST", "/v1/lineItems/"+ids["SO-B/1"]+":activate", map[string]any{"host_id": "HOSTNAME=a", "quantity": 1})
	e = admin.refused(http.StatusConflict, "POST", "/v1/fulfillments/"+f["fulfillment_id"].(string)+":return", map[string]any{})
	require.Equal(t, "POLICY_FORBIDS", e["reason"])
	require.Contains(t, e["message"], "does not allow a return")
	require.EqualValues(t, 9, num(admin.ok("GET", "/v1/lineItems/"+ids["SO-B/1"], nil)["available"]), "no refusal took a seat")
}
