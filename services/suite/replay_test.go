package suite_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// TestReplayAfterLineItemFull_PLT6: every write that takes a request_id, replayed
// once the line items it drew on have no seat left (and after its own fulfillment
// was replaced since), answers its first result and takes nothing: single and batch
// activation, device mapping, return, rehost, repair, upgrade, host transfer, the
// move of a dead host's licenses. The
// request ID cannot be borrowed by another request or another tenant.
func TestReplayAfterLineItemFull_PLT6(t *testing.T) {
	env := suitetest.Start(t)
	api, admin, _ := batchWorld(t, env)
	admin.ok("POST", "/v1/licenseModels", map[string]any{"license_model_id": "replay", "license_model": map[string]any{
		"display_name": "Replay", "type": "LICENSE_MODEL_TYPE_FLOATING_COUNTED", "allowed_host_id_types": []string{"HOSTNAME"},
		"returns": map[string]any{"allowed": 5}, "repairs": map[string]any{"allowed": 5}, "rehosts": map[string]any{"allowed": 5},
	}})
	for _, p := range []string{"p2", "p1"} {
		body := map[string]any{
			"display_name": p, "version": p[1:] + ".0", "license_technology": "LICENSE_TECHNOLOGY_CERTIFICATE",
			"features": []any{map[string]any{"name": "p", "version": p[1:] + ".0"}}, "license_models": []string{"licenseModels/replay"},
		}
		if p == "p1" {
			body["upgrade_to"] = []string{"products/p2"}
		}
		admin.ok("POST", "/v1/products", map[string]any{"product_id": p, "product": body})
	}
	order := func(id string, lines ...any) string {
		return admin.ok("POST", "/v1/orders", map[string]any{"order_id": id, "sold_to": "accounts/ACME", "lines": lines})["line_items"].([]any)[0].(map[string]any)["activation_id"].(string)
	}
	p1 := order("SO-RP1", line("1", "p1", 10, "license_model", "licenseModels/replay"))
	available := func(id string) int64 { return num(admin.ok("GET", "/v1/lineItems/"+id, nil)["available"]) }
	fulfillments := func() int { return len(list(admin, "/v1/fulfillments", nil, "fulfillments")) }
	id := func(f any) string { return f.(map[string]any)["fulfillment_id"].(string) }

	// The first calls, each answered.
	single := map[string]any{"host_id": "HOSTNAME=a", "quantity": 4, "request_id": "r-single"}
	first := map[string]any{}
	first["single"] = admin.ok("POST", "/v1/lineItems/"+p1+":activate", single)
	batch := map[string]any{
		"lines":      []any{map[string]any{"line_item": "lineItems/" + p1, "counts": []any{map[string]any{"host": 0, "count": 2}}}},
		"hosts":      []any{map[string]any{"server_host_ids": []string{"HOSTNAME=b"}}},
		"attributes": map[string]any{"consolidate": false}, "request_id": "r-batch",
	}
	first["batch"] = admin.ok("POST", "/v1/fulfillments:activate", batch)
	admin.ok("POST", "/v1/devices", map[string]any{"device_id": "box", "device": map[string]any{"account": "accounts/ACME", "display_name": "Box", "type": "DEVICE_TYPE_STANDALONE"}})
	mapping := map[string]any{"line_item": "lineItems/" + p1, "quantity": 1, "request_id": "r-map"}
	first["map"] = admin.ok("POST", "/v1/devices/box:mapLineItem", mapping)

	fSingle := "/v1/fulfillments/" + id(first["single"])
	ret := map[string]any{"count": 1, "request_id": "r-return"}
	first["return"] = admin.ok("POST", fSingle+":return", ret) // 3 stay on a
	afterReturn := "/v1/fulfillments/" + id(first["return"].(map[string]any)["created"].([]any)[0])
	rep := map[string]any{"attributes": map[string]any{"notice": "Repaired"}, "request_id": "r-repair"}
	first["repair"] = admin.ok("POST", afterReturn+":repair", rep)
	fBatch := "/v1/fulfillments/" + id(first["batch"].(map[string]any)["fulfillments"].([]any)[0])
	rehost := map[string]any{"hosts": map[string]any{"server_host_ids": []string{"HOSTNAME=c"}}, "request_id": "r-rehost"}
	first["rehost"] = admin.ok("POST", fBatch+":rehost", rehost)

	p2 := order("SO-RP2", line("1", "p2", 2, "license_model", "licenseModels/replay", "type", "LINE_ITEM_TYPE_UPGRADE", "supersedes", "lineItems/"+p1)) // the name, as the API answers it
	upgrade := map[string]any{"moves": []any{map[string]any{"server_host_ids": []string{"HOSTNAME=a"}, "count": 2}}, "request_id": "r-upgrade"}
	first["upgrade"] = admin.ok("POST", "/v1/lineItems/"+p2+":upgrade", upgrade)
	require.EqualValues(t, 0, available(p2), "the upgrade line item is full")

	// Fill the line item, then move a host away (its seats and quantity go along).
	admin.ok("POST", "/v1/lineItems/"+p1+":activate", map[string]any{"host_id": "HOSTNAME=d", "quantity": available(p1)})
	require.EqualValues(t, 0, available(p1), "the line item is full")
	transfer := map[string]any{"host_ids": []string{"HOSTNAME=c"}, "to_account": "accounts/OTHER", "request_id": "r-transfer"}
	job := admin.ok("POST", "/v1/accounts/ACME/hosts:transfer", transfer)
	require.Eventually(t, func() bool {
		return admin.ok("GET", "/v1/"+job["name"].(string), nil)["state"] == "JOB_STATE_SUCCEEDED"
	}, 20*time.Second, 50*time.Millisecond)
	require.EqualValues(t, 0, available(p1), "the seats left with their quantity")
	// The licenses of dead host d move to a new one (a portal admin's rehost).
	deadHost := map[string]any{"from_host_id": "HOSTNAME=d", "to_host_id": "HOSTNAME=e", "request_id": "r-dead-host"}
	first["dead host"] = admin.ok("POST", "/v1/accounts/ACME/fulfillments:transferHost", deadHost)
	count := fulfillments()

	// Every replay: the first answer, nothing taken.
	again := admin.ok("POST", "/v1/lineItems/"+p1+":activate", single)
	require.Equal(t, id(first["single"]), id(again), "single activation")
	require.Equal(t, first["single"].(map[string]any)["create_time"], again["create_time"], "the first answer's time, as stored")
	again = admin.ok("POST", "/v1/fulfillments:activate", batch)
	firstBatch := first["batch"].(map[string]any)["fulfillments"].([]any)[0].(map[string]any)
	require.Equal(t, id(firstBatch), id(again["fulfillments"].([]any)[0]), "batch activation")
	require.Equal(t, firstBatch["create_time"], again["fulfillments"].([]any)[0].(map[string]any)["create_time"], "batch activation's time")
	again = admin.ok("POST", "/v1/devices/box:mapLineItem", mapping)
	require.EqualValues(t, 1, num(again["line_items"].([]any)[0].(map[string]any)["quantity"]), "device mapping")
	for _, op := range []struct {
		kind, path string
		body       map[string]any
	}{
		{"return", fSingle + ":return", ret},
		{"repair", afterReturn + ":repair", rep},
		{"rehost", fBatch + ":rehost", rehost},
		{"upgrade", "/v1/lineItems/" + p2 + ":upgrade", upgrade},
	} {
		again = admin.ok("POST", op.path, op.body)
		want := first[op.kind].(map[string]any)["created"].([]any)
		got := again["created"].([]any)
		require.Len(t, got, len(want), op.kind)
		for i := range want {
			require.Equal(t, id(want[i]), id(got[i]), op.kind)
		}
	}
	require.Equal(t, job["name"], admin.ok("POST", "/v1/accounts/ACME/hosts:transfer", transfer)["name"], "host transfer")
	again = admin.ok("POST", "/v1/accounts/ACME/fulfillments:transferHost", deadHost)
	require.Len(t, again["created"], 1, "dead host transfer")
	require.Equal(t, id(first["dead host"].(map[string]any)["created"].([]any)[0]), id(again["created"].([]any)[0]), "dead host transfer")
	require.EqualValues(t, 0, available(p1), "replays took nothing")
	require.EqualValues(t, 0, available(p2))
	require.Equal(t, count, fulfillments(), "and made nothing")

	// The request ID of one activation does not answer another request.
	e := admin.refused(http.StatusBadRequest, "POST", "/v1/lineItems/"+p1+":activate", map[string]any{"host_id": "HOSTNAME=a", "quantity": 3, "request_id": "r-single"})
	require.Equal(t, []string{"request_id"}, fieldViolations(e))
	e = admin.refused(http.StatusBadRequest, "POST", "/v1/lineItems/"+p2+":activate", map[string]any{"host_id": "HOSTNAME=a", "quantity": 4, "request_id": "r-single"})
	require.Equal(t, []string{"request_id"}, fieldViolations(e))
	other := copyMap(mapping)
	other["quantity"] = 2
	e = admin.refused(http.StatusBadRequest, "POST", "/v1/devices/box:mapLineItem", other)
	require.Equal(t, []string{"request_id"}, fieldViolations(e), "a mapping's request ID, with another quantity")
	// Nor another account's user (her own request IDs are hers).
	admin.ok("POST", "/v1/users", map[string]any{"password": "Olga-Password-1", "user": map[string]any{
		"username": "olga", "first_name": "Olga", "last_name": "O", "email": "olga@other.example",
		"memberships": []any{map[string]any{"account": "accounts/OTHER", "roles": []string{"customer_admin"}}},
	}})
	olga := api.as(login(api, "order-co", "olga", "Olga-Password-1"))
	olga.refused(http.StatusBadRequest, "POST", fSingle+":return", ret)
	require.EqualValues(t, 0, available(p1))
}
