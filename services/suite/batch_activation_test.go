package suite_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/license/licfile"
	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// batchWorld adds to orderWorld a floating model with defaults, a node-locked
// counted one with overdraft, products under them and an order for Acme and Other.
func batchWorld(t *testing.T, env *suitetest.Env) (rest, rest, map[string]string) {
	api, admin := orderWorldIn(t, env)
	admin.ok("POST", "/v1/licenseModels", map[string]any{"license_model_id": "float", "license_model": map[string]any{
		"display_name": "Float", "type": "LICENSE_MODEL_TYPE_FLOATING_COUNTED", "allowed_host_id_types": []string{"HOSTNAME", "PHY_HOSTNAME", "ETHER"},
		"defaults": map[string]any{"borrow_hours": 168, "notice": "Acme internal use"},
	}})
	admin.ok("POST", "/v1/licenseModels", map[string]any{"license_model_id": "nodec", "license_model": map[string]any{
		"display_name": "Node counted", "type": "LICENSE_MODEL_TYPE_NODELOCKED_COUNTED", "allowed_host_id_types": []string{"HOSTNAME"}, "overdraft_allowed": true,
	}})
	for _, p := range []struct{ id, model string }{{"fcad", "float"}, {"fsim", "float"}, {"ncad", "nodec"}} {
		admin.ok("POST", "/v1/products", map[string]any{"product_id": p.id, "product": map[string]any{
			"display_name": p.id, "version": "3.1", "license_technology": "LICENSE_TECHNOLOGY_CERTIFICATE",
			"features": []any{map[string]any{"name": p.id + "_feat", "version": "3.1"}}, "license_models": []string{"licenseModels/" + p.model},
		}})
	}
	model := func(m string, extra ...any) []any {
		return append([]any{"license_model", "licenseModels/" + m}, extra...)
	}
	created := admin.ok("POST", "/v1/orders:batchCreate", map[string]any{"orders": []any{
		map[string]any{"order_id": "SO-B", "sold_to": "accounts/ACME", "lines": []any{
			line("1", "fcad", 10, model("float")...), line("2", "fsim", 5, model("float")...), line("3", "ncad", 2, model("nodec")...),
			line("4", "fcad", 4, model("float", "start_at_first_activation", true, "expire_after", "1Y")...),
		}},
		map[string]any{"order_id": "SO-O", "sold_to": "accounts/OTHER", "lines": []any{line("1", "fcad", 3, model("float")...)}},
	}})
	ids := map[string]string{}
	for _, e := range created["entitlements"].([]any) {
		e := e.(map[string]any)
		for n, li := range lineItems(e) {
			ids[e["order_id"].(string)+"/"+n] = li["activation_id"].(string)
		}
	}
	return api, admin, ids
}

// TestBatchActivation_LIC1_LIC2_LIC4_LIC6: several line items of one account and
// model for several hosts in one request: Verify checks all and takes nothing;
// Generate makes one fulfillment per line item and host, a consolidated file per
// server host they share, takes the seats and writes the start date back once; a
// retry returns the same; any broken rule refuses the whole request.
func TestBatchActivation_LIC1_LIC2_LIC4_LIC6(t *testing.T) {
	env := suitetest.Start(t)
	api, admin, ids := batchWorld(t, env)
	li := func(k string) string { return "lineItems/" + ids[k] }
	available := func(k string) int64 { return num(admin.ok("GET", "/v1/"+li(k), nil)["available"]) }
	request := map[string]any{
		"lines": []any{
			map[string]any{"line_item": li("SO-B/1"), "counts": []any{map[string]any{"host": 0, "count": 3}, map[string]any{"host": 1, "count": 2}}},
			map[string]any{"line_item": li("SO-B/2"), "counts": []any{map[string]any{"host": 0, "count": 1}}},
		},
		"hosts": []any{
			map[string]any{"server_host_ids": []string{"HOSTNAME=lic1"}},
			map[string]any{"server_host_ids": []string{"PHY_HOSTNAME=tri-a", "PHY_HOSTNAME=tri-b", "PHY_HOSTNAME=tri-c"}},
		},
		"attributes": map[string]any{"notice": "For the Acme lab", "ship_to_emails": []string{"lab@acme.example"}, "vm_platforms": "physical_only"},
		"request_id": "batch-1",
	}

	// Verify: the same checks, nothing signed, stored or taken.
	dry := copyMap(request)
	dry["validate_only"] = true
	res := admin.ok("POST", "/v1/fulfillments:activate", dry)
	require.Equal(t, true, res["validate_only"])
	require.Len(t, res["fulfillments"], 3)
	for _, f := range res["fulfillments"].([]any) {
		require.Empty(t, f.(map[string]any)["license_text"], "a dry run signs nothing")
	}
	require.EqualValues(t, 10, available("SO-B/1"))

	// Refusals leave everything as it was.
	refusals := []struct {
		name   string
		edit   func(m map[string]any)
		status int
		reason string
	}{
		{"another account", func(m map[string]any) {
			m["lines"] = append(m["lines"].([]any), map[string]any{"line_item": li("SO-O/1")})
		}, http.StatusBadRequest, "INVALID_ARGUMENT"},
		{"another model", func(m map[string]any) {
			m["lines"] = append(m["lines"].([]any), map[string]any{"line_item": li("SO-B/3")})
		}, http.StatusBadRequest, "INVALID_ARGUMENT"},
		{"above available", func(m map[string]any) {
			m["lines"].([]any)[1] = map[string]any{"line_item": li("SO-B/2"), "counts": []any{map[string]any{"host": 0, "count": 6}}}
		}, http.StatusConflict, "QUANTITY_EXCEEDED"},
		{"node hosts on a floating model", func(m map[string]any) {
			m["hosts"].([]any)[0] = map[string]any{"server_host_ids": []string{"HOSTNAME=lic1"}, "nodelocked_host_ids": []string{"HOSTNAME=pc"}}
		}, http.StatusBadRequest, "INVALID_ARGUMENT"},
		{"triad with two prefixes", func(m map[string]any) {
			m["hosts"].([]any)[1] = map[string]any{"server_host_ids": []string{"PHY_HOSTNAME=a", "HOSTNAME=b", "PHY_HOSTNAME=c"}}
		}, http.StatusBadRequest, "HOST_ID_INVALID"},
		{"two servers", func(m map[string]any) {
			m["hosts"].([]any)[0] = map[string]any{"server_host_ids": []string{"HOSTNAME=a", "HOSTNAME=b"}}
		}, http.StatusBadRequest, "INVALID_ARGUMENT"},
		{"overdraft the model forbids", func(m map[string]any) {
			m["lines"].([]any)[1] = map[string]any{"line_item": li("SO-B/2"), "counts": []any{map[string]any{"host": 0, "count": 1, "overdraft": 2}}}
		}, http.StatusBadRequest, "INVALID_ARGUMENT"},
		{"bad time zone", func(m map[string]any) {
			m["attributes"] = map[string]any{"time_zone": "Mars/Olympus"}
		}, http.StatusBadRequest, "INVALID_ARGUMENT"},
		{"host index out of range", func(m map[string]any) {
			m["lines"].([]any)[1] = map[string]any{"line_item": li("SO-B/2"), "counts": []any{map[string]any{"host": 7}}}
		}, http.StatusBadRequest, "INVALID_ARGUMENT"},
	}
	for _, r := range refusals {
		m := copyMap(request)
		m["lines"] = append([]any{}, request["lines"].([]any)...)
		m["hosts"] = append([]any{}, request["hosts"].([]any)...)
		m["request_id"] = "refused-" + r.name
		r.edit(m)
		e := admin.refused(r.status, "POST", "/v1/fulfillments:activate", m)
		require.Equal(t, r.reason, e["reason"], r.name)
	}
	require.EqualValues(t, 10, available("SO-B/1"))
	require.EqualValues(t, 5, available("SO-B/2"))

	// Generate.
	res = admin.ok("POST", "/v1/fulfillments:activate", request)
	fs := res["fulfillments"].([]any)
	require.Len(t, fs, 3)
	first := fs[0].(map[string]any)
	require.Equal(t, "SUPPORT_TYPE_MASTER", first["support_type"])
	require.Equal(t, []any{"HOSTNAME=lic1"}, first["server_host_ids"])
	require.EqualValues(t, 3, num(first["quantity"]))
	text := first["license_text"].(string)
	require.Contains(t, text, "INCREMENT fcad_feat order_co 3.1 permanent 3", "the vendor is the tenant")
	require.EqualValues(t, 10-5, available("SO-B/1"))
	require.EqualValues(t, 5-1, available("SO-B/2"))
	keys := keysOf(t, api.ok("GET", "/v1/tenants/order-co/publicKeys", nil))
	for _, f := range fs {
		f := f.(map[string]any)
		_, err := licfile.Verify(f["license_text"].(string), keys)
		require.NoError(t, err)
	}
	require.Contains(t, text, `NOTICE="For the Acme lab"`, "a fulfil-time attribute wins over the model's")
	require.Contains(t, text, "BORROW=168", "the model's default applies")
	require.Contains(t, text, "PHYSICAL_ONLY")
	triad := fs[1].(map[string]any)["license_text"].(string)
	require.Equal(t, 3, strings.Count(triad, "SERVER "), "a triad is one license with three servers")

	cls := res["consolidated_licenses"].([]any)
	require.Len(t, cls, 1, "lic1 carries two fulfillments: one consolidated file")
	cl := cls[0].(map[string]any)
	require.Equal(t, []any{"HOSTNAME=lic1"}, cl["server_host_ids"])
	require.Len(t, cl["fulfillments"], 2)
	features, err := licfile.Verify(cl["license_text"].(string), keys)
	require.NoError(t, err)
	require.Len(t, features, 2)
	_, err = licfile.VerifyJSON([]byte(cl["license_json"].(string)), keys)
	require.NoError(t, err)

	again := admin.ok("POST", "/v1/fulfillments:activate", request)
	require.Equal(t, first["fulfillment_id"], again["fulfillments"].([]any)[0].(map[string]any)["fulfillment_id"], "a retry returns the first result")
	require.EqualValues(t, 5, available("SO-B/1"))
	mail := env.WaitForMail(t, "lab@acme.example", first["fulfillment_id"].(string))
	require.Contains(t, mail, "LicenseFile.lic")

	// The start date of a line item that starts at first activation is the chosen
	// one, written back once, then fixed.
	startReq := map[string]any{
		"lines": []any{map[string]any{"line_item": li("SO-B/4")}}, "hosts": []any{map[string]any{"server_host_ids": []string{"HOSTNAME=lic2"}}},
		"attributes": map[string]any{"start_time": "2026-12-15T00:00:00Z"},
	}
	started := admin.ok("POST", "/v1/fulfillments:activate", startReq)["fulfillments"].([]any)[0].(map[string]any)
	require.Contains(t, started["license_text"], "START=15-dec-2026")
	require.Contains(t, started["license_text"], "15-dec-2027", "the term runs a year from the chosen start")
	require.Equal(t, "2026-12-15T00:00:00Z", admin.ok("GET", "/v1/"+li("SO-B/4"), nil)["start_time"])
	startReq["attributes"] = map[string]any{"start_time": "2026-12-20T00:00:00Z"}
	e := admin.refused(http.StatusBadRequest, "POST", "/v1/fulfillments:activate", startReq)
	require.Equal(t, []string{"attributes.start_time"}, fieldViolations(e))

	// Node-locked counted: clients under the server, overdraft where the model
	// allows it, counted apart.
	nodeReq := map[string]any{
		"lines": []any{map[string]any{"line_item": li("SO-B/3"), "counts": []any{map[string]any{"host": 0, "count": 2, "overdraft": 1}}}},
		"hosts": []any{map[string]any{"server_host_ids": []string{"HOSTNAME=srv"}, "nodelocked_host_ids": []string{"HOSTNAME=pc1", "HOSTNAME=pc2"}}},
		"attributes": map[string]any{
			"use_server": false, "flexid_sharing": true, "version_date": "2026-06-01T00:00:00Z", "ship_to_address": "1 Main St, Springfield",
			"counting": "user", "terminal_server": true, "issuer": "Acme Licensing", "serial_number": "SN-77", "platforms": []string{"x64_lsb", "x64_n6"},
		},
	}
	nf := admin.ok("POST", "/v1/fulfillments:activate", nodeReq)["fulfillments"].([]any)[0].(map[string]any)
	for _, kw := range []string{"FLEXID_SHARED", "VERSION_DATE=1-jun-2026", "USER_BASED", "TS_OK", `ISSUER="Acme Licensing"`, "SN=SN-77", `PLATFORMS="x64_lsb x64_n6"`} {
		require.Contains(t, nf["license_text"], kw)
	}
	require.NotContains(t, nf["license_text"], "USE_SERVER", "use_server false leaves the line out")
	require.Equal(t, "1 Main St, Springfield", nf["attributes"].(map[string]any)["ship_to_address"])
	require.Contains(t, nf["license_text"], `HOSTID="HOSTNAME=pc1 HOSTNAME=pc2"`)
	require.Contains(t, nf["license_text"], "OVERDRAFT=1")
	require.EqualValues(t, 1, num(nf["overdraft"]))
	got := admin.ok("GET", "/v1/"+li("SO-B/3"), nil)
	require.EqualValues(t, 1, num(got["overdraft"]), "the seat past the quantity is overdraft")
}

func copyMap(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}
