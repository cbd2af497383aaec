package suite_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDeviceHistory_DEV12: a device's history lists what happened to it and who did
// it, newest first and paged; only its own events; line items masked as on the
// device; only for callers who see the device.
func TestDeviceHistory_DEV12(t *testing.T) {
	w := newDeviceWorld(t)
	li := w.lineItems
	session := w.api.ok("POST", "/v1/auth:login", map[string]any{"tenant_id": "vis-co", "username": "admin", "password": "Admin-Password-1"})
	adminUser := session["user"].(map[string]any)["name"].(string)

	history := func(as rest, dev string) []map[string]any {
		return list(as, "/v1/devices/"+dev+"/history", url.Values{}, "entries")
	}
	entries := history(w.admin, "dev-tier")
	require.Len(t, entries, 3, "created, then two mappings")
	kinds := []string{}
	for _, e := range entries {
		kinds = append(kinds, e["kind"].(string))
		require.Equal(t, adminUser, e["actor"])
		require.NotEmpty(t, e["time"])
	}
	require.Equal(t, []string{"line_item_mapped", "line_item_mapped", "created"}, kinds, "newest first")
	require.Equal(t, "lineItems/"+li["TIER-sim"], entries[0]["line_item"])
	require.EqualValues(t, 1, num(entries[0]["quantity"]))
	require.Equal(t, "lineItems/"+li["TIER"], entries[1]["line_item"])
	require.EqualValues(t, 2, num(entries[1]["quantity"]))
	require.Len(t, history(w.admin, "dev-parent"), 2, "another device's events stay on its own history")

	// Pages of one, newest first, nothing lost or repeated.
	var paged []string
	token := ""
	for range 5 {
		q := url.Values{"page_size": {"1"}}
		if token != "" {
			q.Set("page_token", token)
		}
		page := w.admin.ok("GET", "/v1/devices/dev-tier/history?"+q.Encode(), nil)
		for _, e := range page["entries"].([]any) {
			paged = append(paged, e.(map[string]any)["kind"].(string)+" "+e.(map[string]any)["line_item"].(string))
		}
		if token, _ = page["next_page_token"].(string); token == "" {
			break
		}
	}
	require.Equal(t, []string{"line_item_mapped lineItems/" + li["TIER-sim"], "line_item_mapped lineItems/" + li["TIER"], "created "}, paged)
	e := w.admin.refused(http.StatusBadRequest, "GET", "/v1/devices/dev-tier/history?page_token=nope", nil)
	require.Equal(t, []string{"page_token"}, fieldViolations(e))
	e = w.admin.refused(http.StatusBadRequest, "GET", "/v1/devices/dev-tier/history?page_size=-1", nil)
	require.Equal(t, []string{"page_size"}, fieldViolations(e))

	// An activation ID session reads the history of the device holding its line
	// item; the other line item is masked there, in the entry and its description.
	keyed := history(w.key(li["TIER"]), "dev-tier")
	require.Len(t, keyed, 3)
	sim := keyed[0]
	require.Equal(t, "lineItems/"+strings.Repeat("*", len(li["TIER-sim"])-3)+li["TIER-sim"][len(li["TIER-sim"])-3:], sim["line_item"])
	require.NotContains(t, sim["description"], li["TIER-sim"])
	require.Equal(t, "lineItems/"+li["TIER"], keyed[1]["line_item"])

	// A user held to the design product line reads dev-tier's history without the
	// sim line item, not even masked.
	dina := w.user(t, "dina", "TIER", "customer_admin", "product_lines", []string{"productLines/design"})
	designed := history(dina, "dev-tier")
	require.Equal(t, "created", designed[len(designed)-1]["kind"])
	for _, e := range designed {
		item, _ := e["line_item"].(string)
		if item != "lineItems/"+li["TIER"] {
			require.False(t, strings.HasSuffix(item, li["TIER-sim"][len(li["TIER-sim"])-3:]), "no trace of the sim line item: %v", e)
		}
	}

	// Refusals: callers who do not see the device, callers without devices.view,
	// another tenant — none learns whether the device exists.
	w.user(t, "cus", "CHILD", "customer_user").refused(http.StatusNotFound, "GET", "/v1/devices/dev-parent/history", nil)
	w.user(t, "nobody", "PARENT", "account_viewer").refused(http.StatusForbidden, "GET", "/v1/devices/dev-parent/history", nil)
	w.rival.refused(http.StatusNotFound, "GET", "/v1/devices/dev-parent/history", nil)
	w.admin.refused(http.StatusNotFound, "GET", "/v1/devices/nope/history", nil)
}

// TestDeviceAuditTrail_PLT4_DEV12: the device service's audit trail lists every
// device event with who made it, for the producer of the tenant only; it exports
// as CSV.
func TestDeviceAuditTrail_PLT4_DEV12(t *testing.T) {
	w := newDeviceWorld(t)
	session := w.api.ok("POST", "/v1/auth:login", map[string]any{"tenant_id": "vis-co", "username": "admin", "password": "Admin-Password-1"})
	adminUser := session["user"].(map[string]any)["name"].(string)
	trail := func(as rest, q url.Values) []map[string]any {
		return list(as, "/v1/services/device/auditEvents", q, "audit_events")
	}
	created := trail(w.admin, url.Values{"filter": {`subject = "tessera.device.device.created"`}})
	require.Len(t, created, len(w.devices))
	for _, e := range created {
		require.Equal(t, adminUser, e["actor"])
		require.NotEmpty(t, e["token_id"])
	}
	require.Contains(t, created[len(created)-1]["payload_json"], `"device_id": "dev-tier"`)
	mapped := trail(w.admin, url.Values{"filter": {`subject:"line_item_mapped"`}, "order_by": {"time desc"}})
	require.Len(t, mapped, len(w.devices)+1, "dev-tier holds two line items")
	require.Contains(t, mapped[0]["payload_json"], w.lineItems["TIER-sim"])
	e := w.admin.refused(http.StatusBadRequest, "GET", "/v1/services/device/auditEvents?filter=nope%3D1", nil)
	require.Equal(t, []string{"filter"}, fieldViolations(e))

	rows := readCSV(t, w.admin.do("GET", "/v1/services/device/auditEvents:export?filter="+url.QueryEscape(`subject:"device.created"`), nil))
	require.Len(t, rows, 1+len(w.devices), "a header row and one row per device created")
	require.Equal(t, "name", rows[0][0])

	for _, e := range trail(w.rival, nil) {
		require.NotContains(t, e["payload_json"], "dev-tier", "another tenant's trail stays apart")
	}
	require.Len(t, trail(w.rival, nil), 1, "the rival's own device")
	w.user(t, "pat", "PARENT", "customer_admin").refused(http.StatusForbidden, "GET", "/v1/services/device/auditEvents", nil)
	w.user(t, "pam", "DIST", "partner_admin").refused(http.StatusForbidden, "GET", "/v1/services/device/auditEvents:export", nil)
}
