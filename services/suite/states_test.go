package suite_test

import (
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// TestLineItemStates_ENT4: an order line may start as a draft, which cannot be
// activated until deployed; an obsolete line item takes no new activations while
// the seats already out stay and can be returned. Repeating a move changes nothing;
// moves the states do not allow are refused; each move is an event on the audit
// trail, made once however many callers race.
func TestLineItemStates_ENT4(t *testing.T) {
	env := suitetest.Start(t)
	api, admin := orderWorldIn(t, env)
	admin.ok("POST", "/v1/licenseModels", map[string]any{"license_model_id": "ret", "license_model": map[string]any{
		"display_name": "Ret", "type": "LICENSE_MODEL_TYPE_FLOATING_COUNTED", "allowed_host_id_types": []string{"HOSTNAME"},
		"returns": map[string]any{"allowed": 5},
	}})
	admin.ok("PATCH", "/v1/products/cad", map[string]any{"product": map[string]any{"license_models": []string{"licenseModels/node", "licenseModels/ret"}}, "update_mask": "licenseModels"})
	created := admin.ok("POST", "/v1/orders", map[string]any{"order_id": "SO-S", "sold_to": "accounts/ACME", "lines": []any{
		line("1", "cad", 5, "license_model", "licenseModels/ret", "draft", true), line("2", "cad", 5, "license_model", "licenseModels/ret"),
	}})
	items := lineItems(created)
	draft, deployed := items["1"]["activation_id"].(string), items["2"]["activation_id"].(string)
	require.Equal(t, "LINE_ITEM_STATE_DRAFT", items["1"]["state"])
	require.Equal(t, "LINE_ITEM_STATE_DEPLOYED", items["2"]["state"], "lines start deployed unless drafted")
	// The same order again (a resend) leaves the draft a draft; so does a resend
	// without the flag: amendments do not move states.
	again := lineItems(admin.ok("POST", "/v1/orders", map[string]any{"order_id": "SO-S", "sold_to": "accounts/ACME", "lines": []any{
		line("1", "cad", 5, "license_model", "licenseModels/ret"), line("2", "cad", 5, "license_model", "licenseModels/ret"),
	}}))
	require.Equal(t, "LINE_ITEM_STATE_DRAFT", again["1"]["state"])

	activate := func(activationID, host string) reply {
		return admin.do("POST", "/v1/lineItems/"+activationID+":activate", map[string]any{"host_id": "HOSTNAME=" + host, "quantity": 1})
	}
	r := activate(draft, "h1")
	require.Equal(t, http.StatusConflict, r.Status, "%s", r.Raw)
	require.Equal(t, "LINE_ITEM_NOT_DEPLOYED", reason(r))

	// Only the producer moves states.
	admin.ok("POST", "/v1/users", map[string]any{"password": "Cara-Password-1", "user": map[string]any{
		"username": "cara", "first_name": "Cara", "last_name": "C", "email": "cara@acme.example",
		"memberships": []any{map[string]any{"account": "accounts/ACME", "roles": []string{"customer_admin"}}},
	}})
	customer := api.as(login(api, "order-co", "cara", "Cara-Password-1"))
	customer.refused(http.StatusForbidden, "POST", "/v1/lineItems/"+draft+":deploy", map[string]any{})
	customer.refused(http.StatusForbidden, "POST", "/v1/lineItems/"+deployed+":obsolete", map[string]any{})

	// Racing deploys all succeed, and the line item is deployed once.
	results := make([]reply, 6)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() { results[i] = admin.do("POST", "/v1/lineItems/"+draft+":deploy", map[string]any{}) })
	}
	wg.Wait()
	for _, r := range results {
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
		require.Equal(t, "LINE_ITEM_STATE_DEPLOYED", r.Body["state"])
	}
	deployedEvents := func(subject string) []map[string]any {
		return list(admin, "/v1/services/entitlement/auditEvents", url.Values{"filter": {`subject:"` + subject + `"`}}, "audit_events")
	}
	require.Len(t, deployedEvents("line_item.deployed"), 1, "one event for the one move")
	require.Equal(t, http.StatusOK, activate(draft, "h1").Status, "deployed, it activates")

	// Obsolete: no new activations; the seat out stays and can be returned.
	ful := activate(deployed, "h2")
	require.Equal(t, http.StatusOK, ful.Status, "%s", ful.Raw)
	ob := admin.ok("POST", "/v1/lineItems/"+deployed+":obsolete", map[string]any{})
	require.Equal(t, "LINE_ITEM_STATE_OBSOLETE", ob["state"])
	require.EqualValues(t, 1, num(ob["fulfilled"]))
	require.Equal(t, "LINE_ITEM_STATE_OBSOLETE", admin.ok("POST", "/v1/lineItems/"+deployed+":obsolete", map[string]any{})["state"], "again: nothing changes")
	r = activate(deployed, "h3")
	require.Equal(t, http.StatusConflict, r.Status, "%s", r.Raw)
	require.Equal(t, "LINE_ITEM_NOT_DEPLOYED", reason(r))
	e := admin.refused(http.StatusConflict, "POST", "/v1/lineItems/"+deployed+":deploy", map[string]any{})
	require.Equal(t, "LINE_ITEM_STATE", e["reason"], "obsolete is for good")
	admin.ok("POST", "/v1/"+ful.Body["name"].(string)+":return", map[string]any{"count": 1, "overdraft": 0})
	require.EqualValues(t, 0, num(admin.ok("GET", "/v1/lineItems/"+deployed, nil)["fulfilled"]), "the seat came back")
	e = admin.refused(http.StatusConflict, "POST", "/v1/lineItems/"+deployed+":transfer", map[string]any{"to_account": "accounts/OTHER"})
	require.Equal(t, "LINE_ITEM_NOT_DEPLOYED", e["reason"], "nor is it transferred")
	events := deployedEvents("line_item.obsoleted")
	require.Len(t, events, 1)
	require.JSONEq(t, `{"activation_id":"`+deployed+`","from_state":"deployed","to_state":"obsolete"}`, events[0]["payload_json"].(string))
	require.NotEmpty(t, events[0]["actor"], "the audit trail names who did it")

	// Bad names are field violations; unknown line items are not found.
	ent := entitlementpb.NewEntitlementServiceClient(env.Dial(t, "entitlement"))
	_, err := ent.DeployLineItem(env.As(t, suitetest.Producer("order-co")), &entitlementpb.DeployLineItemRequest{Name: "products/" + draft})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	require.Equal(t, []string{"name"}, grpcViolations(err))
	admin.refused(http.StatusNotFound, "POST", "/v1/lineItems/ACT-NOPE:obsolete", map[string]any{})
}

// grpcViolations are the fields a gRPC error's BadRequest names.
func grpcViolations(err error) []string {
	var out []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, v.GetField())
			}
		}
	}
	return out
}
